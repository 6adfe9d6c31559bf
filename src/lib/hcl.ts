/**
 * js-hcl-parser: hashicorp/hcl v1 compiled to JS by GopherJS, the parser
 * family Vault reads its policies and config with. Loading it costs ~170 ms,
 * hence on first use rather than at import.
 *
 * GopherJS sets `Error.stackTraceLimit = Infinity` for the whole process when
 * it loads. Every error thrown anywhere in the server would then capture its
 * full stack, and a document nested a few thousand levels deep (a 9 KB policy
 * of `a {` repeated) overflows the parser's stack in ~700 ms instead of
 * ~15 ms, blocking the event loop for every client. The limit is put back.
 */
import { createRequire } from 'node:module';

/** Returns the parser's JSON text, or an error message string (it reports errors that way). */
export type HclParse = (text: string) => string;

let hclParse: HclParse | undefined;

export function loadHcl(): HclParse {
  if (hclParse === undefined) {
    const limit = Error.stackTraceLimit;
    try {
      const require = createRequire(import.meta.url);
      hclParse = (require('js-hcl-parser') as { parse: HclParse }).parse;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
  return hclParse;
}
