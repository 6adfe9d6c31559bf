/**
 * Errors by meaning. Each class carries the HTTP status a Vault client expects,
 * so the HTTP layer maps them in one place and never matches message text.
 *
 * Messages speak to the caller and must never contain a secret, a token or a key.
 */
export class KeepError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra messages, rendered as further entries of the `errors` array. */
  readonly details: string[];

  constructor(message: string, opts: { status: number; code: string; details?: string[] }) {
    super(message);
    this.name = new.target.name;
    this.status = opts.status;
    this.code = opts.code;
    this.details = opts.details ?? [];
  }
}

/** 400: the request is malformed or a parameter is invalid. */
export class BadRequestError extends KeepError {
  constructor(message: string, details?: string[]) {
    super(message, { status: 400, code: 'bad_request', details });
  }
}

/** 403: missing, invalid or insufficient token. Vault uses 403 for all three. */
export class PermissionDeniedError extends KeepError {
  constructor(message = 'permission denied') {
    super(message, { status: 403, code: 'permission_denied' });
  }
}

/** 404: nothing at this path. An empty message renders as `{"errors":[]}`. */
export class NotFoundError extends KeepError {
  constructor(message = '') {
    super(message, { status: 404, code: 'not_found' });
  }
}

/** 405: the path exists but does not support the operation. */
export class UnsupportedOperationError extends KeepError {
  constructor(message = 'unsupported operation') {
    super(message, { status: 405, code: 'unsupported_operation' });
  }
}

/** 409: a check-and-set or similar precondition failed. */
export class ConflictError extends KeepError {
  constructor(message: string) {
    super(message, { status: 409, code: 'conflict' });
  }
}

/** 413: the request body is over the listener's limit. */
export class PayloadTooLargeError extends KeepError {
  constructor(message = 'request body too large') {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}

/** 503: the server is sealed. */
export class SealedError extends KeepError {
  constructor(message = 'Vault is sealed') {
    super(message, { status: 503, code: 'sealed' });
  }
}

/** 501 is reserved for health; requests before init answer 503 like Vault's. */
export class NotInitializedError extends KeepError {
  constructor(message = 'Vault is not initialized') {
    super(message, { status: 503, code: 'not_initialized' });
  }
}

/** 500 with a generic message; the cause is logged with the request id, never returned. */
export class InternalError extends KeepError {
  constructor(message = 'internal error') {
    super(message, { status: 500, code: 'internal' });
  }
}

export function isKeepError(err: unknown): err is KeepError {
  return err instanceof KeepError;
}
