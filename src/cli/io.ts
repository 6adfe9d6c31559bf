/**
 * The process streams and environment, behind an interface so commands can be
 * driven in tests with captured output and a scripted stdin.
 */
import { LocalError } from './errors.ts';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin as text. */
  readStdin(): Promise<string>;
  /** Prompts on the terminal without echo. Throws LocalError when stdin is not a terminal. */
  readSecret(prompt: string): Promise<string>;
  readonly stdinIsTTY: boolean;
  readonly stdoutIsTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit status of a Go program killed by SIGPIPE, as the shell reports Vault's. */
const EXIT_BROKEN_PIPE = 128 + 13;

let brokenPipeHandled = false;

/**
 * A reader that goes away early (`keep kv get ... | head -1`) ends the
 * program quietly, as SIGPIPE ends Vault's CLI. Without this, the next write
 * raises an unhandled EPIPE error and Node prints its stack trace.
 */
function exitQuietlyOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(EXIT_BROKEN_PIPE);
    });
  }
}

export function processIO(): CliIO {
  exitQuietlyOnBrokenPipe();
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin,
    readSecret,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line in raw mode so the typed secret never reaches the screen. */
function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(
      new LocalError('stdin is not a terminal; pass the value as an argument or as "-" for stdin'),
    );
  }
  process.stderr.write(prompt);

  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(new LocalError('user canceled'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
