package kafkaio

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lovoo/goka/storage"
)

// MemoryStorage is a goka storage builder that keeps each table partition
// in a map, for tables whose local copy buys nothing on disk: a gateway's
// views (they read their topic again on every start) and a processor whose
// table is recovered from its topic anyway (the embedded broker, or no
// AUCTION_STATE_DIR). goka's own memory storage sorts all its keys again on
// every new key, which makes a view of one key per bid quadratic; LevelDB
// pays for a log, compactions and copies on every write. Here a write is a
// map assignment, and the keys are sorted only when someone iterates, once
// per batch of new keys.
func MemoryStorage() storage.Builder {
	return func(string, int32) (storage.Storage, error) {
		return &memStore{values: map[string][]byte{}, offset: -1}, nil
	}
}

type memStore struct {
	mu     sync.RWMutex
	values map[string][]byte
	// sorted is the keys in order, or nil after a key was added or removed.
	sorted []string
	offset int64 // -1: none yet
}

func (m *memStore) Open() error          { return nil }
func (m *memStore) Close() error         { return nil }
func (m *memStore) MarkRecovered() error { return nil }

func (m *memStore) Has(key string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.values[key]
	return ok, nil
}

// Get returns the stored value itself, as goka's memory storage does: goka
// hands it to the table codec, whose decoding copies what it keeps.
func (m *memStore) Get(key string) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.values[key], nil
}

func (m *memStore) Set(key string, value []byte) error {
	if value == nil {
		return errors.New("memory storage: cannot write a nil value")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.values[key]; !ok {
		m.sorted = nil
	}
	m.values[key] = value
	return nil
}

func (m *memStore) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.values[key]; ok {
		delete(m.values, key)
		m.sorted = nil
	}
	return nil
}

func (m *memStore) GetOffset(def int64) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.offset < 0 {
		return def, nil
	}
	return m.offset, nil
}

func (m *memStore) SetOffset(offset int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offset = offset
	return nil
}

func (m *memStore) Iterator() (storage.Iterator, error) {
	return m.IteratorWithRange(nil, nil)
}

// IteratorWithRange iterates over a snapshot of the keys from start up to
// limit (not included), in order; with no limit, over the keys that begin
// with start, as goka's LevelDB storage does.
func (m *memStore) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sorted == nil {
		m.sorted = make([]string, 0, len(m.values))
		for k := range m.values {
			m.sorted = append(m.sorted, k)
		}
		slices.Sort(m.sorted)
	}
	keys := m.sorted
	from := sort.SearchStrings(keys, string(start))
	to := len(keys)
	if len(limit) > 0 {
		to = sort.SearchStrings(keys, string(limit))
	} else if len(start) > 0 {
		to = from + sort.Search(len(keys)-from, func(i int) bool { return !strings.HasPrefix(keys[from+i], string(start)) })
	}
	if to < from {
		to = from
	}
	it := &memIter{keys: keys[from:to:to], values: make([][]byte, to-from), at: -1}
	for i, k := range it.keys {
		it.values[i] = m.values[k]
	}
	return it, nil
}

// memIter is a snapshot: writes after it was made do not change it.
type memIter struct {
	keys   []string
	values [][]byte
	at     int
}

func (i *memIter) Next() bool {
	if i.at < len(i.keys) {
		i.at++
	}
	return i.at < len(i.keys)
}

func (i *memIter) Err() error { return nil }

func (i *memIter) Key() []byte {
	if i.at < 0 || i.at >= len(i.keys) {
		return nil
	}
	return []byte(i.keys[i.at])
}

func (i *memIter) Value() ([]byte, error) {
	if i.at < 0 || i.at >= len(i.keys) {
		return nil, nil
	}
	return i.values[i.at], nil
}

func (i *memIter) Release() { i.at = len(i.keys) }

// Seek moves to the first key at or after key, as LevelDB's does, and
// reports whether there is one.
func (i *memIter) Seek(key []byte) bool {
	i.at = sort.SearchStrings(i.keys, string(key))
	return i.at < len(i.keys)
}
