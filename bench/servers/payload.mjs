// The body both ceiling servers answer with: the shape and size of Keep's
// KV v2 read envelope, built and serialised per request as a real route would.
let n = 0;

export function readBody() {
  n++;
  return JSON.stringify({
    request_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: {
      data: { value: 'bench-value-0123456789abcdef', n: String(n) },
      metadata: {
        version: 1,
        created_time: '2026-12-04T08:00:00.000000000Z',
        deletion_time: '',
        destroyed: false,
        created_by: { display_name: 'token', accessor: 'bench-accessor-000000', remote_addr: '' },
        custom_metadata: null,
      },
    },
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
  });
}

/** What a write route answers after it parsed the request body. */
export function writeBody(parsed) {
  n++;
  return JSON.stringify({
    request_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: {
      version: Object.keys(parsed?.data ?? {}).length,
      created_time: '2026-12-04T08:00:00.000000000Z',
      deletion_time: '',
      destroyed: false,
      custom_metadata: null,
    },
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
  });
}
