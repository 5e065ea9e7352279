import { fileURLToPath } from 'node:url';
import { ensureReadOnlyToken } from '../adapters/home/token.js';
import { loadUiAssets, type UiOptions } from '../adapters/http/ui/index.js';

/**
 * The dashboard a server serves at /ui: the page `npm run build` put in dist/web (beside
 * dist/bin, where this module is bundled), and the home's read-only token. Run from source
 * there is no built page, and /ui says so (E_UI_NOT_BUILT). `records`: the state's release
 * records and ledger entries, for the releases and drift views.
 */
export function dashboardOptions(home: string, records?: UiOptions['records']): UiOptions {
  return {
    ...(records !== undefined && { records }),
    assets: loadUiAssets(fileURLToPath(new URL('../web', import.meta.url))),
    readOnlyToken: ensureReadOnlyToken(home).token,
  };
}
