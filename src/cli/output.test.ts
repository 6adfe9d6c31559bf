import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  columnize,
  formatValue,
  headerForMap,
  mapTable,
  padEqualSigns,
  rawField,
  secretTable,
  Ui,
  wrapAtLength,
} from './output.ts';
import { captureIO } from './testing/stub-server.ts';

describe('tables', () => {
  it('aligns the key column, joins with four spaces and never pads the last column', () => {
    const text = mapTable({ foo: 'bar', created_time: '2018-03-22T19:08:55Z', x: 1 });
    assert.equal(
      text,
      [
        'Key             Value',
        '---             -----',
        'created_time    2018-03-22T19:08:55Z',
        'foo             bar',
        'x               1',
      ].join('\n'),
    );
  });

  it('prints empty cells as n/a and trims cells, as columnize does', () => {
    assert.equal(
      columnize([
        ['a', ''],
        ['bb', '  x  '],
      ]),
      'a     n/a\nbb    x',
    );
  });

  it('reproduces Vault’s KV v2 metadata block', () => {
    const metadata = {
      created_time: '2026-04-09T19:39:18.855022475Z',
      custom_metadata: null,
      deletion_time: '',
      destroyed: false,
      version: 1,
    };
    assert.equal(headerForMap('Metadata', metadata), '======= Metadata =======');
    assert.equal(
      mapTable(metadata),
      [
        'Key                Value',
        '---                -----',
        'created_time       2026-04-09T19:39:18.855022475Z',
        'custom_metadata    <nil>',
        'deletion_time      n/a',
        'destroyed          false',
        'version            1',
      ].join('\n'),
    );
  });

  it('sizes section headers like Vault', () => {
    assert.equal(headerForMap('Data', { foo: 'bar' }), '=== Data ===');
    assert.equal(headerForMap('Data', {}), '== Data ==');
    assert.equal(padEqualSigns('Secret Path', 'secret/data/creds'.length), '== Secret Path ==');
    assert.equal(
      padEqualSigns('Secret Path', 'secret/data/devops-info-service/config'.length),
      '============= Secret Path =============',
    );
  });

  it('prints durations for duration-like keys only', () => {
    const text = mapTable({ ttl: 2764800, creation_ttl: 3600, period: 0, num_uses: 3600 });
    assert.match(text, /^creation_ttl\s+1h$/m);
    assert.match(text, /^ttl\s+768h$/m);
    assert.match(text, /^period\s+0s$/m);
    assert.match(text, /^num_uses\s+3600$/m);
  });
});

describe('formatValue', () => {
  it('prints decoded JSON the way Go’s %v does', () => {
    assert.equal(formatValue(null), '<nil>');
    assert.equal(formatValue(['default', 'root']), '[default root]');
    assert.equal(
      formatValue({ username: 'user1', a: [1, true] }),
      'map[a:[1 true] username:user1]',
    );
    assert.equal(formatValue(false), 'false');
    assert.equal(formatValue(1.5), '1.5');
  });
});

describe('secretTable', () => {
  it('shows a token with lease, quoted policies and sorted metadata', () => {
    const text = secretTable({
      auth: {
        client_token: 'hvs.abc',
        accessor: 'acc',
        policies: ['default', 'ops'],
        token_policies: ['default', 'ops'],
        identity_policies: null,
        metadata: { user: 'x', team: 'y' },
        lease_duration: 2764800,
        renewable: true,
      },
    });
    assert.equal(
      text,
      [
        'Key                  Value',
        '---                  -----',
        'token                hvs.abc',
        'token_accessor       acc',
        'token_duration       768h',
        'token_renewable      true',
        'token_policies       ["default" "ops"]',
        'identity_policies    []',
        'policies             ["default" "ops"]',
        'token_meta_team      y',
        'token_meta_user      x',
      ].join('\n'),
    );
  });

  it('shows a root token’s duration as infinity and a KV v1 lease as refresh_interval', () => {
    const root = secretTable({
      auth: {
        client_token: 't',
        accessor: 'a',
        policies: ['root'],
        metadata: null,
        lease_duration: 0,
        renewable: false,
      },
    });
    assert.match(root, /^token_duration\s+∞$/m);
    const v1 = secretTable({ lease_duration: 2764800, lease_id: '', data: { foo: 'bar' } });
    assert.match(v1, /^refresh_interval\s+768h$/m);
    assert.match(v1, /^foo\s+bar$/m);
  });
});

describe('rawField', () => {
  it('picks auth fields, envelope fields and data fields like Vault', () => {
    const auth = {
      client_token: 'tok',
      accessor: 'acc',
      policies: ['root'],
      metadata: null,
      lease_duration: 0,
      renewable: false,
    };
    assert.equal(rawField({ auth, data: { x: 1 } }, 'token'), 'tok');
    assert.equal(rawField({ auth, data: { x: 1 } }, 'x'), 1);
    assert.equal(rawField({ lease_duration: 60, data: { a: 'b' } }, 'refresh_interval'), 60);
    assert.deepEqual(rawField({ data: { a: 'b' } }, 'data'), { a: 'b' });
    assert.deepEqual(rawField({ data: { data: { a: 'b' } } }, 'data'), { a: 'b' });
  });
});

describe('Ui.field', () => {
  it('prints the bare value without a newline when stdout is not a terminal', () => {
    const io = captureIO({});
    assert.equal(new Ui(io, 'table').field({ data: { pass: 's3cret' } }, 'pass'), 0);
    assert.equal(io.out, 's3cret');
  });

  it('adds the newline on a terminal unless NO_COLOR or TERM=dumb turn colour off', () => {
    const tty = captureIO({ stdoutIsTTY: true });
    new Ui(tty, 'table').dataField({ a: 'b' }, 'a');
    assert.equal(tty.out, 'b\n');
    const noColor = captureIO({ stdoutIsTTY: true, env: { NO_COLOR: '1' } });
    new Ui(noColor, 'table').dataField({ a: 'b' }, 'a');
    assert.equal(noColor.out, 'b');
  });

  it('prints JSON for -format=json and fails with exit 1 for a missing field', () => {
    const io = captureIO({});
    const ui = new Ui(io, 'json');
    ui.dataField({ a: ['x', 'y'] }, 'a');
    assert.equal(io.out, '[\n  "x",\n  "y"\n]');
    assert.equal(ui.dataField({ a: 1 }, 'nope'), 1);
    assert.equal(io.err, 'Field "nope" not present in secret\n');
  });
});

describe('Ui output in JSON', () => {
  it('pretty-prints the response with two spaces', () => {
    const io = captureIO({});
    new Ui(io, 'json').secret({ request_id: 'r', data: { a: 1 } });
    assert.equal(io.out, '{\n  "request_id": "r",\n  "data": {\n    "a": 1\n  }\n}\n');
  });

  it('prints a list response as the JSON array of keys, table as sorted Keys', () => {
    const json = captureIO({});
    new Ui(json, 'json').list({ data: { keys: ['b', 'a/'] } });
    assert.equal(json.out, '[\n  "b",\n  "a/"\n]\n');
    const table = captureIO({});
    new Ui(table, 'table').list({ data: { keys: ['b', 'a/'] } });
    assert.equal(table.out, 'Keys\n----\na/\nb\n');
  });

  it('prints server warnings to stderr before a table', () => {
    const io = captureIO({});
    new Ui(io, 'table').secret({ warnings: ['mind the gap'], data: { a: 'b' } });
    assert.match(io.err, /WARNING! The following warnings were returned/);
    assert.match(io.err, /^ {2}\* mind the gap$/m);
    assert.match(io.out, /^a\s+b$/m);
  });
});

describe('wrapAtLength', () => {
  it('wraps Vault’s init message exactly as Vault prints it', () => {
    const text =
      'Vault initialized with 5 key shares and a key threshold of 3. Please securely ' +
      'distribute the key shares printed above. When the Vault is re-sealed, restarted, ' +
      'or stopped, you must supply at least 3 of these keys to unseal it before it can ' +
      'start servicing requests.';
    assert.equal(
      wrapAtLength(text),
      [
        'Vault initialized with 5 key shares and a key threshold of 3. Please securely',
        'distribute the key shares printed above. When the Vault is re-sealed,',
        'restarted, or stopped, you must supply at least 3 of these keys to unseal it',
        'before it can start servicing requests.',
      ].join('\n'),
    );
  });

  it('indents by the padding and keeps every line within 78 columns', () => {
    const words = Array.from({ length: 60 }, (_, i) => 'w'.repeat((i % 9) + 1)).join(' ');
    const wrapped = wrapAtLength(words, 6);
    for (const line of wrapped.split('\n')) {
      assert.ok(line.startsWith('      '));
      assert.ok(line.length <= 78, line);
    }
    assert.equal(wrapped.split(/\s+/).filter(Boolean).join(' '), words);
  });
});
