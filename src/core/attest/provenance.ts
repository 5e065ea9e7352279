import * as z from 'zod';
import { INGOT_BUILD_TYPE, InToto, type ProvenanceSummary } from '../../domain/attestation.js';
import { digestHex, isDigest, type Digest } from '../../domain/digest.js';
import { MediaType } from '../../domain/media-types.js';

/** Where the baseline came from, when it lives in a git work tree. */
export interface GitSource {
  readonly commit: string;
  /** The `origin` remote (any credentials removed), or null if there is none. */
  readonly remote: string | null;
  readonly dirty: boolean;
  /** Files the build read that git ignores (vendored, generated): no commit holds them. */
  readonly ignoredInputs: number;
}

export interface ProvenanceInput {
  readonly subject: { readonly name: string; readonly digest: Digest };
  /** The baseline file: its path (relative to the git work tree's root when there is one). */
  readonly baseline: { readonly path: string; readonly digest: Digest };
  readonly tag: string;
  readonly compression: string;
  readonly level?: number;
  readonly sourceDateEpoch: number;
  /**
   * The image manifest built on; its tag; for a registry base `oci://HOST[:PORT]/REPO`, and
   * the index digest the baseline pinned when the manifest was chosen from one.
   */
  readonly base: {
    readonly digest: Digest;
    readonly name?: string;
    readonly uri?: string;
    readonly index?: Digest;
  } | null;
  /** Digest of the source files as placed in the layers (see sourceTreeDigest). */
  readonly sourceTree: Digest;
  readonly git: GitSource | null;
  readonly builderId: string;
  readonly builderVersion: string;
  readonly invocationId: string;
  readonly startedOn: string;
  readonly finishedOn: string;
  readonly measurement: Digest;
  readonly sbom: Digest;
  /** Whether earlier builds' parts and file digests could be used (not with --no-cache). */
  readonly buildCache: boolean;
}

const sha256 = (d: Digest) => ({ sha256: digestHex(d) });

/**
 * How resolvedDependencies names a registry base: `uri: oci://HOST[:PORT]/REPO`, the digest
 * beside it and the tag in its annotations. Read back only to be shown, never trusted.
 */
export const OCI_SCHEME = 'oci://';

/**
 * An in-toto Statement v1 with an SLSA Provenance v1 predicate. `externalParameters` are
 * exactly what a user chose (and what `ingot rebuild` needs to redo the build); everything
 * the build pinned on its own — base digest, source tree, commit — is a resolved dependency.
 */
export function buildProvenance(input: ProvenanceInput): unknown {
  const dependencies: unknown[] = [];
  if (input.git)
    dependencies.push({
      name: 'git',
      ...(input.git.remote !== null && { uri: `git+${input.git.remote}` }),
      digest: { gitCommit: input.git.commit },
      annotations: { dirty: input.git.dirty, ignoredInputs: input.git.ignoredInputs },
    });
  dependencies.push({ name: 'source-tree', digest: sha256(input.sourceTree) });
  if (input.base) {
    const { name, uri, index } = input.base;
    const annotations = {
      ...(name !== undefined && { tag: name }),
      ...(index !== undefined && { index }),
    };
    dependencies.push({
      name: 'base',
      ...(uri !== undefined && { uri }),
      digest: sha256(input.base.digest),
      mediaType: MediaType.imageManifest,
      ...(Object.keys(annotations).length > 0 && { annotations }),
    });
  }
  return {
    _type: InToto.statementType,
    subject: [{ name: input.subject.name, digest: sha256(input.subject.digest) }],
    predicateType: InToto.slsaProvenance,
    predicate: {
      buildDefinition: {
        buildType: INGOT_BUILD_TYPE,
        externalParameters: {
          baseline: { path: input.baseline.path, digest: sha256(input.baseline.digest) },
          tag: input.tag,
          compression: input.compression,
          ...(input.level !== undefined && { level: input.level }),
          sourceDateEpoch: input.sourceDateEpoch,
        },
        // The builder's own choice, not needed to redo the build: the output is the same.
        internalParameters: { buildCache: input.buildCache ? 'enabled' : 'disabled' },
        resolvedDependencies: dependencies,
      },
      runDetails: {
        builder: { id: input.builderId, version: { ingot: input.builderVersion } },
        metadata: {
          invocationId: input.invocationId,
          startedOn: input.startedOn,
          finishedOn: input.finishedOn,
        },
        byproducts: [
          {
            name: 'measurement',
            mediaType: MediaType.measurement,
            digest: sha256(input.measurement),
          },
          { name: 'sbom', mediaType: MediaType.spdx, digest: sha256(input.sbom) },
        ],
      },
    },
  };
}

// ---- reading a statement back: every field is attacker-supplied until a trusted key signed
// it, and even then it is parsed, never cast.

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const text = z.string().max(4096);
const resourceDescriptor = z.object({
  name: text.optional(),
  uri: text.optional(),
  digest: z.record(z.string().max(64), z.string().max(256)).optional(),
  mediaType: text.optional(),
  annotations: z.record(z.string().max(256), z.unknown()).optional(),
});

const statementSchema = z.object({
  _type: z.literal(InToto.statementType),
  subject: z
    .array(z.object({ name: text.optional(), digest: z.record(z.string().max(64), z.string()) }))
    .min(1)
    .max(1024),
  predicateType: text,
  predicate: z.unknown(),
});

const provenanceSchema = z.object({
  buildDefinition: z.object({
    buildType: text,
    externalParameters: z.record(z.string(), z.unknown()),
    // Builder-specific: read defensively, never a reason to refuse a statement.
    internalParameters: z.unknown().optional(),
    resolvedDependencies: z.array(resourceDescriptor).max(10_000).optional(),
  }),
  runDetails: z.object({
    builder: z.object({ id: text }),
    metadata: z
      .object({
        invocationId: text.optional(),
        startedOn: text.optional(),
        finishedOn: text.optional(),
      })
      .optional(),
    byproducts: z.array(resourceDescriptor).max(1000).optional(),
  }),
});

const ingotParameters = z.object({
  baseline: z.object({ path: text, digest: z.object({ sha256: hex64 }).optional() }).optional(),
  tag: text.optional(),
  compression: text.optional(),
  level: z.number().int().min(0).max(99).optional(),
  sourceDateEpoch: z.number().int().min(0).optional(),
});

export interface ParsedStatement {
  /** Subject digests as `sha256:<hex>` (other algorithms are ignored). */
  readonly subjects: readonly Digest[];
  readonly predicateType: string;
  /** Present when the predicate is SLSA Provenance v1. */
  readonly provenance: ProvenanceSummary | null;
}

export type StatementProblem = { readonly problem: string };

const asDigest = (hex: string | undefined): Digest | null => {
  const d = hex === undefined ? '' : `sha256:${hex}`;
  return isDigest(d) ? d : null;
};

/** Parse an in-toto Statement v1 (already decoded from JSON); a string says what is wrong. */
export function parseStatement(doc: unknown): ParsedStatement | StatementProblem {
  const statement = statementSchema.safeParse(doc);
  if (!statement.success) return { problem: describeIssue(statement.error) };
  const subjects = statement.data.subject
    .map((s) => asDigest(s.digest['sha256']))
    .filter((d): d is Digest => d !== null);
  const { predicateType } = statement.data;
  if (predicateType !== InToto.slsaProvenance) return { subjects, predicateType, provenance: null };

  const predicate = provenanceSchema.safeParse(statement.data.predicate);
  if (!predicate.success) return { problem: `predicate: ${describeIssue(predicate.error)}` };
  const { buildDefinition, runDetails } = predicate.data;
  const params =
    buildDefinition.buildType === INGOT_BUILD_TYPE
      ? ingotParameters.safeParse(buildDefinition.externalParameters)
      : null;
  if (params && !params.success)
    return { problem: `externalParameters: ${describeIssue(params.error)}` };
  const p = params?.data ?? {};
  const deps = buildDefinition.resolvedDependencies ?? [];
  const byName = (name: string) => deps.find((d) => d.name === name);
  const git = byName('git');
  const base = byName('base');
  const byproduct = (name: string) =>
    asDigest(runDetails.byproducts?.find((b) => b.name === name)?.digest?.['sha256']);
  const commit = git?.digest?.['gitCommit'];
  // A base that is named but not pinned would let "allowed bases" be satisfied by nothing.
  if (base && asDigest(base.digest?.['sha256']) === null)
    return { problem: 'resolvedDependencies: the base has no sha256 digest' };
  return {
    subjects,
    predicateType,
    provenance: {
      builderId: runDetails.builder.id,
      buildType: buildDefinition.buildType,
      invocationId: runDetails.metadata?.invocationId ?? null,
      startedOn: runDetails.metadata?.startedOn ?? null,
      finishedOn: runDetails.metadata?.finishedOn ?? null,
      baseline: p.baseline
        ? { path: p.baseline.path, digest: asDigest(p.baseline.digest?.sha256) }
        : null,
      tag: p.tag ?? null,
      compression: p.compression ?? null,
      level: p.level ?? null,
      sourceDateEpoch: p.sourceDateEpoch ?? null,
      base: base ? asDigest(base.digest?.['sha256']) : null,
      baseName: baseNameOf(base),
      sourceTree: asDigest(byName('source-tree')?.digest?.['sha256']),
      git:
        commit !== undefined
          ? {
              commit,
              remote: git?.uri?.startsWith('git+') ? git.uri.slice(4) : (git?.uri ?? null),
              dirty: git?.annotations?.['dirty'] === true,
              ignoredInputs: ignoredInputsOf(git?.annotations?.['ignoredInputs']),
            }
          : null,
      measurement: byproduct('measurement'),
      sbom: byproduct('sbom'),
      buildCache: buildCacheOf(buildDefinition.internalParameters),
    },
  };
}

/** A layout base by its tag; a registry base by its reference, `HOST[:PORT]/REPO[:TAG]`. */
function baseNameOf(base: z.output<typeof resourceDescriptor> | undefined): string | null {
  const tag = base?.annotations?.['tag'];
  const shownTag = typeof tag === 'string' ? tag : null;
  const uri = base?.uri;
  if (uri?.startsWith(OCI_SCHEME)) {
    const name = uri.slice(OCI_SCHEME.length);
    return shownTag === null ? name : `${name}:${shownTag}`;
  }
  return shownTag;
}

function buildCacheOf(internal: unknown): boolean | null {
  const value =
    typeof internal === 'object' && internal !== null && !Array.isArray(internal)
      ? (internal as Record<string, unknown>)['buildCache']
      : undefined;
  return value === 'enabled' ? true : value === 'disabled' ? false : null;
}

function ignoredInputsOf(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function describeIssue(error: z.ZodError): string {
  const first = error.issues[0];
  return first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
}
