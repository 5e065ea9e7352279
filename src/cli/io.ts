import type { Store } from '../ports/store.js';
import type { BuildRequest, BuildResult } from '../services/build.js';

/** Where the CLI writes, and what it knows of the terminal. Tests supply their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly errIsTty: boolean;
  readonly columns: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What the composition root (bin/) gives the CLI: services with their adapters wired. */
export interface CliApp {
  build(request: BuildRequest): Promise<BuildResult>;
  store(): Promise<Store>;
  close(): Promise<void>;
}

export type AppFactory = (options: { home: string }) => CliApp;

export type OutputFormat = 'text' | 'json';
