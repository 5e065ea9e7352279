import * as z from 'zod';
import type { BaseRef } from '../../domain/baseline.js';
import { isDigest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { parseReference } from '../registry/reference.js';
import { digestHint, sourcePathHint } from '../json-schema/hints.js';

/**
 * `from:` of ingot.yaml: `scratch`, an OCI layout on disk, or an image in a registry.
 *
 * One mapping with every key optional, not a union of two: zod reports a failed union by
 * the first branch that took a mapping, so a mistyped registry base would be told it lacks
 * `layout:`. The combinations are checked here instead, each naming its own field.
 *
 * A registry base must be pinned: `digest:` is required with `image:`. The tag, when given,
 * is only checked against the pin at build time (a moved tag fails the build, as with
 * layouts); the content is always fetched by the digest. An unpinned registry base would let
 * whoever can push to that tag change what every later build is made of.
 */

const relativeSource = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes('\0'), 'must not contain NUL bytes')
  .meta(sourcePathHint);

const digestText = z
  .string()
  .refine(isDigest, 'expected sha256:<64 lowercase hex digits>')
  .meta(digestHint);

/** The reference's own grammar (core/registry/reference.ts), each part with its message. */
const imageText = z
  .string()
  .superRefine((raw, ctx) => {
    const problem = referenceProblem(raw);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description: 'HOST[:PORT]/REPO[:TAG], without "@sha256:…" (the pin is digest:).',
    pattern: '^[^@]+$',
  });

function referenceProblem(raw: string): string | null {
  try {
    const ref = parseReference(raw);
    // One place for the pin: a digest in the reference and another in `digest:` could disagree.
    if (ref.digest !== null)
      return 'expected HOST[:PORT]/REPO[:TAG] without "@sha256:…": give the digest as digest:';
    return null;
  } catch (err) {
    if (isIngotError(err)) return err.message;
    throw err;
  }
}

export const fromSchema = z.union([
  z.literal('scratch'),
  z
    .strictObject({
      layout: relativeSource.optional(),
      image: imageText.optional(),
      tag: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,254}$/, 'expected a tag such as "1.0" or "stable"')
        .optional(),
      digest: digestText.optional(),
    })
    .superRefine((v, ctx) => {
      const issue = (message: string, path: string[] = []) =>
        ctx.addIssue({ code: 'custom', path, message });
      if (v.layout !== undefined && v.image !== undefined)
        issue('give layout: (an OCI layout on disk) or image: (a registry), not both');
      else if (v.image !== undefined) {
        if (v.digest === undefined)
          issue(
            'is required with image: (a registry base is pinned by digest; the tag alone could be moved by anyone who can push)',
            ['digest'],
          );
        if (v.tag !== undefined)
          issue('with image:, the tag is part of the reference: image: HOST[:PORT]/REPO:TAG', [
            'tag',
          ]);
      } else if (v.layout === undefined)
        issue('give layout: DIR (an OCI layout) or image: HOST[:PORT]/REPO[:TAG] (a registry)');
      else if (v.tag === undefined && v.digest === undefined)
        issue('give a tag, a digest, or both (a digest pins the base)');
    })
    // The same combinations, for editors: a layout with a tag or a digest (or both), or an
    // image with its digest and no tag.
    .meta({
      description:
        'A base: layout: DIR (an OCI layout) with a tag, a digest or both; or image: HOST[:PORT]/REPO[:TAG] pinned by digest:.',
      oneOf: [
        {
          required: ['layout'],
          not: { required: ['image'] },
          anyOf: [{ required: ['tag'] }, { required: ['digest'] }],
        },
        {
          required: ['image', 'digest'],
          not: { anyOf: [{ required: ['layout'] }, { required: ['tag'] }] },
        },
      ],
    })
    .transform((v): Exclude<BaseRef, { kind: 'scratch' }> => {
      // Checked above: a valid reference without a digest, and a digest beside it.
      if (v.image !== undefined && v.digest !== undefined)
        return { kind: 'registry', image: parseReference(v.image), digest: v.digest };
      return {
        kind: 'layout',
        layout: v.layout ?? '',
        ...(v.tag !== undefined && { tag: v.tag }),
        ...(v.digest !== undefined && { digest: v.digest }),
      };
    }),
]);
