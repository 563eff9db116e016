package kafkaio

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lovoo/goka/storage"
)

// TestMemoryStorage holds the map storage to the contract goka's LevelDB
// storage keeps, by running the same steps on both.
func TestMemoryStorage(t *testing.T) {
	for name, build := range map[string]storage.Builder{
		"memory":  MemoryStorage(),
		"leveldb": storage.DefaultBuilder(t.TempDir()),
	} {
		t.Run(name, func(t *testing.T) {
			st, err := build("auction-table", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Open(); err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if off, _ := st.GetOffset(-2); off != -2 {
				t.Fatalf("got offset %d before any, want the default -2", off)
			}
			for _, k := range []string{"b2", "a1", "b1", "c", "b3"} {
				if err := st.Set(k, []byte("v-"+k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Set("nil", nil); err == nil && name == "memory" {
				t.Fatal("Set of a nil value: got no error")
			}
			st.Delete("nil")
			if err := st.SetOffset(41); err != nil {
				t.Fatal(err)
			}
			if off, _ := st.GetOffset(-2); off != 41 {
				t.Fatalf("got offset %d, want 41", off)
			}
			if v, _ := st.Get("b1"); string(v) != "v-b1" {
				t.Fatalf("Get b1: got %q", v)
			}
			if v, _ := st.Get("zz"); v != nil {
				t.Fatalf("Get of a missing key: got %q, want nil", v)
			}
			if ok, _ := st.Has("c"); !ok {
				t.Fatal("Has c: got false")
			}
			all, err := st.Iterator()
			if err != nil {
				t.Fatal(err)
			}
			// The iterator is a snapshot: writes after it do not show.
			st.Set("a0", []byte("late"))
			st.Delete("c")
			if got := drain(all); !slices.Equal(got, []string{"a1=v-a1", "b1=v-b1", "b2=v-b2", "b3=v-b3", "c=v-c"}) {
				t.Fatalf("Iterator: got %v", got)
			}
			if ok, _ := st.Has("c"); ok {
				t.Fatal("Has c after Delete: got true")
			}
			prefix, _ := st.IteratorWithRange([]byte("b"), nil)
			if got := drain(prefix); !slices.Equal(got, []string{"b1=v-b1", "b2=v-b2", "b3=v-b3"}) {
				t.Fatalf("IteratorWithRange(b, nil): got %v", got)
			}
			rng, _ := st.IteratorWithRange([]byte("a1"), []byte("b3"))
			if got := drain(rng); !slices.Equal(got, []string{"a1=v-a1", "b1=v-b1", "b2=v-b2"}) {
				t.Fatalf("IteratorWithRange(a1, b3): got %v", got)
			}
			seek, _ := st.Iterator()
			if !seek.Seek([]byte("b15")) || string(seek.Key()) != "b2" {
				t.Fatalf("Seek(b15): at %q, want b2", seek.Key())
			}
			if seek.Seek([]byte("zz")) {
				t.Fatalf("Seek past the end: got true at %q", seek.Key())
			}
			seek.Release()
		})
	}
}

func drain(it storage.Iterator) []string {
	defer it.Release()
	var out []string
	for it.Next() {
		v, _ := it.Value()
		out = append(out, fmt.Sprintf("%s=%s", it.Key(), v))
	}
	return out
}
