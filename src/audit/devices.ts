/**
 * Audit devices: where formatted entries go. A device writes one line per
 * entry and reports failure by rejecting; the broker decides what a failure
 * means (fail closed). Options are Vault's: `file_path`, `mode` for `file`;
 * `address`, `socket_type`, `write_timeout` for `socket`.
 */
import dgram from 'node:dgram';
import { chmod, type FileHandle, open } from 'node:fs/promises';
import net from 'node:net';
import { parseDuration } from '../lib/duration.ts';
import { BadRequestError } from '../lib/errors.ts';

export interface AuditDevice {
  /** Writes one line (with its newline); rejects when the line was not recorded. */
  write(line: string): Promise<void>;
  /** Reopens files after log rotation (SIGHUP). */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** Options every device type accepts (handled by the broker). */
export const COMMON_OPTIONS = [
  'log_raw',
  'hmac_accessor',
  'format',
  'prefix',
  'elide_list_responses',
];

export async function createDevice(
  type: string,
  options: Record<string, string>,
): Promise<AuditDevice> {
  if (type === 'file') return FileDevice.open(options);
  if (type === 'socket') return SocketDevice.create(options);
  throw new BadRequestError(`unknown audit device type "${type}"; known types: file, socket`);
}

function checkOptions(options: Record<string, string>, own: string[]): void {
  for (const key of Object.keys(options)) {
    if (!own.includes(key) && !COMMON_OPTIONS.includes(key)) {
      throw new BadRequestError(`unknown option "${key}" for this audit device`);
    }
  }
}

/** Appends to a file (or writes to stdout, or discards), one entry per line. */
export class FileDevice implements AuditDevice {
  readonly #path: string;
  readonly #mode: number | undefined;
  #handle: FileHandle | undefined;

  private constructor(path: string, mode: number | undefined) {
    this.#path = path;
    this.#mode = mode;
  }

  static async open(options: Record<string, string>): Promise<FileDevice> {
    checkOptions(options, ['file_path', 'path', 'mode']);
    // `path` is the option's name in old Vault releases.
    const path = options.file_path ?? options.path;
    if (!path) throw new BadRequestError('"file_path" is required for the file audit device');
    let mode: number | undefined = 0o600;
    if (options.mode !== undefined) {
      if (!/^[0-7]{3,4}$/.test(options.mode)) {
        throw new BadRequestError(`invalid "mode" "${options.mode}": an octal mode like 0600`);
      }
      // As in Vault, "0000" leaves the file's mode alone.
      mode = Number.parseInt(options.mode, 8) || undefined;
    }
    const device = new FileDevice(path, mode);
    await device.reopen().catch((err: NodeJS.ErrnoException) => {
      throw new BadRequestError(`cannot open audit file "${path}": ${err.code ?? err.message}`);
    });
    return device;
  }

  get #special(): boolean {
    return this.#path === 'stdout' || this.#path === 'discard';
  }

  async write(line: string): Promise<void> {
    if (this.#path === 'discard') return;
    if (this.#path === 'stdout') {
      await new Promise<void>((resolve, reject) =>
        process.stdout.write(line, (err) => (err ? reject(err) : resolve())),
      );
      return;
    }
    if (!this.#handle) await this.reopen();
    const bytes = Buffer.from(line);
    const { bytesWritten } = await this.#handle!.write(bytes);
    if (bytesWritten !== bytes.length) throw new Error('short write to the audit file');
  }

  async reopen(): Promise<void> {
    if (this.#special) return;
    const old = this.#handle;
    this.#handle = undefined;
    await old?.close().catch(() => {});
    const handle = await open(this.#path, 'a', this.#mode ?? 0o600);
    if (this.#mode !== undefined) await chmod(this.#path, this.#mode);
    this.#handle = handle;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => {});
  }
}

/** Sends each entry over TCP (one connection, reopened after a failure) or as a UDP datagram. */
export class SocketDevice implements AuditDevice {
  readonly #host: string;
  readonly #port: number;
  readonly #udp: boolean;
  readonly #timeoutMs: number;
  #tcp: net.Socket | undefined;
  #dgram: dgram.Socket | undefined;

  private constructor(host: string, port: number, udp: boolean, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#udp = udp;
    this.#timeoutMs = timeoutMs;
  }

  static async create(options: Record<string, string>): Promise<SocketDevice> {
    checkOptions(options, ['address', 'socket_type', 'write_timeout']);
    const address = options.address;
    const match = address ? /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address) : null;
    if (!match) throw new BadRequestError('"address" must be host:port for the socket device');
    const port = Number(match[3]);
    if (port < 1 || port > 65535) throw new BadRequestError(`invalid port in "${address}"`);
    const type = options.socket_type ?? 'tcp';
    if (type !== 'tcp' && type !== 'udp') {
      throw new BadRequestError(`invalid "socket_type" "${type}": tcp or udp`);
    }
    const timeout = parseDuration(options.write_timeout ?? '2s');
    const device = new SocketDevice(
      match[1] ?? match[2]!,
      port,
      type === 'udp',
      timeout * 1000 || 2000,
    );
    // A TCP collector must answer now: a device that can never record would
    // fail every request from the moment it is enabled, its own enable included.
    if (type === 'tcp') {
      await device.#connect().catch((err: NodeJS.ErrnoException) => {
        throw new BadRequestError(
          `cannot connect to audit socket ${address}: ${err.code ?? err.message}`,
        );
      });
    }
    return device;
  }

  write(line: string): Promise<void> {
    return this.#udp ? this.#sendDatagram(line) : this.#sendTcp(line);
  }

  #sendDatagram(line: string): Promise<void> {
    if (!this.#dgram) {
      this.#dgram = dgram.createSocket(net.isIPv6(this.#host) ? 'udp6' : 'udp4');
      this.#dgram.unref();
      this.#dgram.on('error', () => this.#closeDgram());
    }
    const socket = this.#dgram;
    return new Promise((resolve, reject) =>
      socket.send(line, this.#port, this.#host, (err) => (err ? reject(err) : resolve())),
    );
  }

  async #sendTcp(line: string): Promise<void> {
    const socket = this.#tcp ?? (await this.#connect());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#closeTcp();
        reject(new Error('audit socket write timed out'));
      }, this.#timeoutMs);
      socket.write(line, (err) => {
        clearTimeout(timer);
        if (err) {
          this.#closeTcp();
          reject(err);
        } else resolve();
      });
    });
  }

  #connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.#host, port: this.#port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('audit socket connect timed out'));
      }, this.#timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.on('error', () => this.#closeTcp());
        socket.on('close', () => {
          if (this.#tcp === socket) this.#tcp = undefined;
        });
        // Nothing is read from the collector; its data is dropped.
        socket.resume();
        this.#tcp = socket;
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  #closeTcp(): void {
    this.#tcp?.destroy();
    this.#tcp = undefined;
  }

  #closeDgram(): void {
    this.#dgram?.close();
    this.#dgram = undefined;
  }

  async reopen(): Promise<void> {
    this.#closeTcp();
  }

  async close(): Promise<void> {
    this.#closeTcp();
    this.#closeDgram();
  }
}
