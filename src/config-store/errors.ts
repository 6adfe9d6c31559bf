/**
 * The Consul face answers errors as Consul does: a status and a plain-text
 * body, never JSON. Everything the config store refuses is one of these.
 */
export class ConsulError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ConsulError';
    this.status = status;
  }
}

/** 400 with Consul's text. */
export function badRequest(message: string): ConsulError {
  return new ConsulError(400, message);
}

/**
 * What Consul's state machine returns as a plain Go error, which its HTTP
 * layer answers with a 500 and the error text (an unknown session on
 * acquire, an invalid session TTL). Not an incident: the input was wrong.
 */
export function stateError(message: string): ConsulError {
  return new ConsulError(500, message);
}

/** One failed operation of a transaction, in Consul's `TxnError` shape. */
export interface TxnError {
  OpIndex: number;
  What: string;
}

/** A transaction that failed and was rolled back; answered with a 409. */
export class TxnAborted extends Error {
  readonly errors: TxnError[];

  constructor(errors: TxnError[]) {
    super('transaction rolled back');
    this.errors = errors;
  }
}
