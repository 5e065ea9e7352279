/** JSON.parse that answers undefined for text that is not JSON: callers validate the shape. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
