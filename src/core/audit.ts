/**
 * The audit broker every request and response passes through. Devices (file,
 * socket) plug in here. Keep fails closed: when at least one device is
 * enabled and none can record an entry, the request fails before any secret
 * leaves the server. With several devices one success suffices, as in Vault.
 */
import { InternalError } from '../lib/errors.ts';

export interface AuditEntry {
  type: 'request' | 'response';
  time: string;
  request: {
    id: string;
    operation: string;
    path: string;
    remote_address: string;
    client_token_accessor?: string;
    data?: Record<string, unknown>;
  };
  auth?: { accessor?: string; display_name?: string; policies?: string[] };
  response?: { status: number; data?: unknown };
  error?: string;
}

export interface AuditDevice {
  readonly path: string;
  /** Writes one entry; values are already hashed by the broker when required. */
  log(entry: AuditEntry): Promise<void>;
}

export class AuditBroker {
  private readonly devices = new Map<string, AuditDevice>();

  get enabled(): boolean {
    return this.devices.size > 0;
  }

  register(device: AuditDevice): void {
    this.devices.set(device.path, device);
  }

  deregister(path: string): void {
    this.devices.delete(path);
  }

  async log(entry: AuditEntry): Promise<void> {
    if (this.devices.size === 0) return;
    const results = await Promise.allSettled([...this.devices.values()].map((d) => d.log(entry)));
    if (!results.some((r) => r.status === 'fulfilled')) {
      throw new InternalError('no audit device could record the request');
    }
  }
}
