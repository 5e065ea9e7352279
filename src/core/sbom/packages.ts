/** A software package the image reveals, in the terms an SBOM needs. */
export interface DetectedPackage {
  readonly ecosystem: 'deb' | 'npm';
  readonly name: string;
  readonly version: string;
  readonly purl: string;
  /** SPDX license expression when the package states one plainly. */
  readonly license?: string;
  readonly supplier?: string;
  /** The file that revealed it. */
  readonly foundIn: string;
}

/** purl components are percent-encoded (package-url spec), "/" in npm scopes included. */
export function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
