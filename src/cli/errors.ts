/**
 * CLI failures by exit code, as Vault's CLI counts them: 1 for a local problem
 * (arguments, files, terminal), 2 for the server saying no or not answering.
 */

/** Bad arguments, unreadable files, no terminal: exit 1. */
export class LocalError extends Error {}

/** The server could not be reached, or its TLS settings could not be loaded: exit 2. */
export class ConnectionError extends Error {}

/**
 * The server answered with a status of 400 or more. The message is Vault's
 * `Error making API request.` block, which scripts and people already read.
 */
export class ResponseError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly errors: string[],
    /** The body was not Vault's `{"errors": [...]}` shape; `errors[0]` holds it verbatim. */
    readonly raw: boolean,
  ) {
    const list = raw ? errors.join('\n') : errors.map((e) => `* ${e}`).join('\n');
    super(
      'Error making API request.\n\n' +
        `URL: ${method} ${url}\n` +
        `Code: ${status}. ${raw ? 'Raw Message' : 'Errors'}:\n\n${list}`,
    );
  }
}

export function exitCodeFor(err: unknown): number {
  return err instanceof LocalError ? 1 : 2;
}
