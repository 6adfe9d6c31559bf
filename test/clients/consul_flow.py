"""
Debian's python3-consul (0.7.1) against Keep's Consul face.

Usage: consul_flow.py <host> <port> <writer token> <reader token>

Prints one "ok ..." line per step; any failure raises and exits non-zero.
Quirk of this client: KV calls send the token as ?token=, but its session
calls send none, so the token also goes in the X-Consul-Token header of
its requests session.
"""
import sys
import threading
import time

import consul

host, port, writer_token, reader_token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def client(token):
    c = consul.Consul(host=host, port=port, token=token)
    c.http.session.headers['X-Consul-Token'] = token
    return c


w = client(writer_token)
r = client(reader_token)

# put/get with flags; values come back as bytes
assert w.kv.put('app/db/host', 'db1.internal', flags=42) is True
index, entry = w.kv.get('app/db/host')
assert entry['Value'] == b'db1.internal' and entry['Flags'] == 42, entry
assert entry['CreateIndex'] == entry['ModifyIndex'] == int(index), (index, entry)
assert w.kv.put('app/db/port', '5432') is True
assert w.kv.put('app/feature/new-ui', 'on') is True
assert w.kv.put('app/empty', None) is True
assert w.kv.get('app/empty')[1]['Value'] is None
print('ok put and get with flags')

# a missing key is (index, None): the 404 carries X-Consul-Index
index, missing = w.kv.get('app/nothing-here')
assert missing is None and int(index) > 0
print('ok missing key answers 404 with an index')

# recurse and keys with a separator
index, entries = w.kv.get('app/', recurse=True)
assert [e['Key'] for e in entries] == [
    'app/db/host', 'app/db/port', 'app/empty', 'app/feature/new-ui'], entries
assert int(index) == max(e['ModifyIndex'] for e in entries)
_, keys = w.kv.get('app/', keys=True, separator='/')
assert keys == ['app/db/', 'app/empty', 'app/feature/'], keys
_, keys = w.kv.get('app/db/', keys=True)
assert keys == ['app/db/host', 'app/db/port'], keys
print('ok recurse and keys with separator')

# cas: 0 creates only; an index updates only if current
assert w.kv.put('app/lockfree', 'v1', cas=0) is True
assert w.kv.put('app/lockfree', 'again', cas=0) is False
_, current = w.kv.get('app/lockfree')
assert w.kv.put('app/lockfree', 'v2', cas=current['ModifyIndex'] + 1000) is False
assert w.kv.put('app/lockfree', 'v2', cas=current['ModifyIndex']) is True
assert w.kv.get('app/lockfree')[1]['Value'] == b'v2'
print('ok cas create-only and update')

# a blocking query on one client, woken by a write from another
index, _ = r.kv.get('app/db/host')
woken = {}


def wait_for_change():
    started = time.time()
    woken['result'] = r.kv.get('app/db/host', index=index, wait='20s')
    woken['seconds'] = time.time() - started


waiter = threading.Thread(target=wait_for_change)
waiter.start()
time.sleep(0.5)
assert w.kv.put('app/db/host', 'db2.internal') is True
waiter.join(15)
assert not waiter.is_alive(), 'the blocking query was not woken'
new_index, entry = woken['result']
assert entry['Value'] == b'db2.internal' and int(new_index) > int(index)
assert 0.4 < woken['seconds'] < 5, woken['seconds']
print('ok blocking query woken by another client')

# a blocking query with nothing to wake it answers after its wait
started = time.time()
same_index, _ = r.kv.get('app/db/host', index=new_index, wait='1s')
elapsed = time.time() - started
assert same_index == new_index and 0.9 < elapsed < 3, (same_index, elapsed)
print('ok blocking query answers after its wait')

# sessions: one holds the lock, a second cannot take it until released
s1 = w.session.create(name='worker-1', ttl=30)
s2 = w.session.create(name='worker-2', lock_delay=0)
assert w.kv.put('service/leader', 'worker-1', acquire=s1) is True
assert w.kv.put('service/leader', 'worker-2', acquire=s2) is False
_, entry = w.kv.get('service/leader')
assert entry['Session'] == s1 and entry['LockIndex'] == 1 and entry['Value'] == b'worker-1'
_, info = w.session.info(s1)
assert info['Name'] == 'worker-1' and info['TTL'] == '30s' and info['Behavior'] == 'release'
assert w.session.renew(s1)['ID'] == s1
assert s1 in [s['ID'] for s in w.session.list()[1]]
assert w.kv.put('service/leader', 'worker-1', release=s2) is False
assert w.kv.put('service/leader', 'worker-1', release=s1) is True
assert w.kv.put('service/leader', 'worker-2', acquire=s2) is True
_, entry = w.kv.get('service/leader')
assert entry['Session'] == s2 and entry['LockIndex'] == 2
print('ok a lock one session holds and another cannot take')

# destroying the holder's session releases its lock
assert w.session.destroy(s2) is True
_, entry = w.kv.get('service/leader')
assert 'Session' not in entry and entry['Value'] == b'worker-2'
assert w.session.info(s2)[1] is None
assert w.session.destroy(s1) is True
print('ok destroying a session releases its lock')

# the reader may read but not write; the refusal is Consul's 403
assert r.kv.get('app/db/port')[1]['Value'] == b'5432'
try:
    r.kv.put('app/db/port', '1')
    raise AssertionError('reader wrote')
except consul.ACLPermissionDenied as err:
    assert "lacks permission 'key:write' on \"app/db/port\"" in str(err), str(err)
assert w.kv.get('app/db/port')[1]['Value'] == b'5432'
print('ok a read-only token cannot write')

# delete one key, then a whole prefix
assert w.kv.delete('app/lockfree') is True
assert w.kv.get('app/lockfree')[1] is None
assert w.kv.delete('app/', recurse=True) is True
assert w.kv.get('app/', recurse=True)[1] is None
print('ok delete and delete recurse')

print('ok status leader ' + ('known' if w.status.leader() else 'unknown'))
