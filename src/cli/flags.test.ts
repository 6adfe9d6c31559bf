import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  boolFlag,
  durationFlag,
  FlagError,
  intFlag,
  listFlag,
  mapFlag,
  parseFlags,
  parseGoBool,
  parseGoInt,
  stringFlag,
} from './flags.ts';

const specs = {
  mount: stringFlag('mount'),
  force: boolFlag('force', { aliases: ['f'] }),
  cas: intFlag('cas', { default: -1 }),
  ttl: durationFlag('ttl'),
  policy: listFlag('policy'),
  meta: mapFlag('meta'),
};

describe('parseFlags', () => {
  it('reads -name=value, -name value and --name forms alike', () => {
    for (const argv of [
      ['-mount=secret', 'foo'],
      ['-mount', 'secret', 'foo'],
      ['--mount=secret', 'foo'],
      ['--mount', 'secret', 'foo'],
    ]) {
      const parsed = parseFlags(specs, argv);
      assert.equal(parsed.values.mount, 'secret', argv.join(' '));
      assert.deepEqual(parsed.args, ['foo']);
    }
  });

  it('keeps an equals sign inside the value', () => {
    assert.equal(parseFlags(specs, ['-mount=a=b']).values.mount, 'a=b');
  });

  it('takes the next argument as the value even when it starts with a dash', () => {
    assert.equal(parseFlags(specs, ['-mount', '-x']).values.mount, '-x');
  });

  it('sets booleans without a separate value and accepts Go ParseBool spellings', () => {
    assert.equal(parseFlags(specs, ['-force']).values.force, true);
    assert.equal(parseFlags(specs, ['-f']).values.force, true);
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
      assert.equal(parseFlags(specs, [`-force=${t}`]).values.force, true, t);
    }
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
      assert.equal(parseFlags(specs, [`-force=${f}`]).values.force, false, f);
    }
  });

  it('treats the word after a boolean flag as a positional, as Go does', () => {
    const parsed = parseFlags(specs, ['-force', 'false']);
    assert.equal(parsed.values.force, true);
    assert.deepEqual(parsed.args, ['false']);
  });

  it('stops at the first positional and leaves later flags as arguments', () => {
    const parsed = parseFlags(specs, ['-cas=1', 'secret/foo', '-mount=x', 'a=b']);
    assert.equal(parsed.values.cas, 1);
    assert.equal(parsed.values.mount, '');
    assert.deepEqual(parsed.args, ['secret/foo', '-mount=x', 'a=b']);
    assert.deepEqual(parsed.trailingFlags, ['-mount=x']);
  });

  it('ends flags at -- and drops it, and keeps a lone - as a positional', () => {
    assert.deepEqual(parseFlags(specs, ['--', '-force']).args, ['-force']);
    const parsed = parseFlags(specs, ['-force', '-', 'x']);
    assert.deepEqual(parsed.args, ['-', 'x']);
    assert.deepEqual(parsed.trailingFlags, []);
  });

  it('collects repeated list flags and key=value map flags', () => {
    const parsed = parseFlags(specs, [
      '-policy=a',
      '-policy',
      ' b ',
      '-meta',
      'team=ops',
      '-meta=env=dev=1',
    ]);
    assert.deepEqual(parsed.values.policy, ['a', 'b']);
    assert.deepEqual(parsed.values.meta, { team: 'ops', env: 'dev=1' });
  });

  it('parses durations with Vault’s bare-seconds and "system" extensions', () => {
    assert.equal(parseFlags(specs, ['-ttl=1h30m']).values.ttl, 5400e9);
    assert.equal(parseFlags(specs, ['-ttl=90']).values.ttl, 90e9);
    assert.equal(parseFlags(specs, ['-ttl=system']).values.ttl, -1e9);
    assert.equal(parseFlags(specs, ['-ttl=1.5s']).values.ttl, 1.5e9);
  });

  it('records which flags were given and gives fresh defaults otherwise', () => {
    const parsed = parseFlags(specs, ['-cas=0']);
    assert.deepEqual([...parsed.given], ['cas']);
    assert.equal(parsed.values.cas, 0);
    assert.deepEqual(parseFlags(specs, []).values.policy, []);
    assert.equal(parseFlags(specs, []).values.cas, -1);
  });

  const failures: [string[], string][] = [
    [['-bogus=1'], 'flag provided but not defined: -bogus'],
    [['--bogus'], 'flag provided but not defined: -bogus'],
    [['-mount'], 'flag needs an argument: -mount'],
    [['---mount=x'], 'bad flag syntax: ---mount=x'],
    [['-=x'], 'bad flag syntax: -=x'],
    [['-cas=x'], 'invalid value "x" for flag -cas: parse error'],
    [
      ['-cas=99999999999999999999'],
      'invalid value "99999999999999999999" for flag -cas: value out of range',
    ],
    [['-force=maybe'], 'invalid boolean value "maybe" for -force: parse error'],
    [['-ttl=1d'], 'invalid value "1d" for flag -ttl: time: unknown unit "ds" in duration "1ds"'],
    [['-meta=novalue'], 'invalid value "novalue" for flag -meta: missing = in KV pair: "novalue"'],
  ];
  for (const [argv, message] of failures) {
    it(`rejects ${argv.join(' ')} with Go's message`, () => {
      assert.throws(
        () => parseFlags(specs, argv),
        (err: unknown) => {
          assert.ok(err instanceof FlagError);
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('parseGoInt and parseGoBool', () => {
  it('accepts Go integer literals with base prefixes and underscores', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['-42', -42],
      ['+7', 7],
      ['0x1F', 31],
      ['0X1f', 31],
      ['0o17', 15],
      ['017', 15],
      ['0b101', 5],
      ['1_000', 1000],
      ['0x_ff', 255],
      ['0_7', 7],
    ];
    for (const [text, value] of cases) assert.equal(parseGoInt(text), value, text);
  });

  it('rejects what Go rejects', () => {
    for (const text of ['', '-', '08', '0x', '1__0', '_1', '1_', '1.5', '1e3', ' 1']) {
      assert.throws(() => parseGoInt(text), /parse error/, text);
    }
    assert.throws(() => parseGoBool('yes'), /parse error/);
  });
});

describe('parseFlags properties', () => {
  const name = fc.constantFrom('mount', 'cas', 'force', 'policy');
  const positional = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.startsWith('-'));

  it('returns positionals untouched after any run of valid flags', () => {
    const flag = fc.record({
      name,
      n: fc.integer({ min: -1e9, max: 1e9 }),
      form: fc.constantFrom('eq', 'space', 'double'),
    });
    fc.assert(
      fc.property(
        fc.array(flag, { maxLength: 6 }),
        fc.array(positional, { maxLength: 5 }),
        (flags, args) => {
          const argv: string[] = [];
          for (const f of flags) {
            const value = f.name === 'force' ? 'true' : String(f.n);
            const dash = f.form === 'double' ? '--' : '-';
            if (f.form === 'space' && f.name !== 'force') argv.push(`${dash}${f.name}`, value);
            else argv.push(`${dash}${f.name}=${value}`);
          }
          const parsed = parseFlags(specs, [...argv, ...args]);
          assert.deepEqual(parsed.args, args);

          const lastCas = flags.filter((f) => f.name === 'cas').at(-1);
          if (lastCas) assert.equal(parsed.values.cas, lastCas.n);
          const policies = flags.filter((f) => f.name === 'policy').map((f) => String(f.n));
          assert.deepEqual(parsed.values.policy, policies);
        },
      ),
    );
  });

  it('passes everything after -- through verbatim', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 6 }), (tail) => {
        assert.deepEqual(parseFlags(specs, ['-force', '--', ...tail]).args, tail);
      }),
    );
  });

  it('reads back every int64-safe integer in decimal, hex and octal', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const sign = n < 0 ? '-' : '';
        const abs = Math.abs(n);
        assert.equal(parseGoInt(String(n)), n);
        assert.equal(parseGoInt(`${sign}0x${abs.toString(16)}`), n);
        assert.equal(parseGoInt(`${sign}0o${abs.toString(8)}`), n);
      }),
    );
  });

  it('either parses or throws FlagError for any command line', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom('-', '--', '-force', '-cas', '-=', '---x'))),
        (argv) => {
          try {
            const parsed = parseFlags(specs, argv);
            assert.ok(parsed.args.length <= argv.length);
          } catch (err) {
            assert.ok(err instanceof FlagError, String(err));
          }
        },
      ),
    );
  });
});
