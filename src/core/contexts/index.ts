export {
  CONTEXT_CODES,
  CONTEXT_NAME_RULE,
  contextSchema,
  currentContext,
  EMPTY_CONTEXT_FILE,
  isContextName,
  MAX_CONTEXT_FILE_BYTES,
  parseContextFile,
  serializeContextFile,
  withContext,
  withCurrent,
  withoutContext,
} from './schema.js';
export type { Context, ContextFile, ContextSpecCode } from './schema.js';
