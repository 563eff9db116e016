package auction

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// The group table's row codec. goka decodes the row, and encodes it again,
// on every event of the item, and writes it to the table topic and the
// local store each time; the gateway's view decodes it once more. So the
// row's size and the codec's speed are a large part of what a bid costs
// (BenchmarkTableRow, BenchmarkCallback; BENCHMARKS.md has the figures).
//
// A row is one version byte and then the fields of State in declaration
// order, each a variable-length integer, a length-prefixed string, a time
// (seconds, nanoseconds and the zone's offset) or a presence byte before an
// optional struct. There are no field names and no text to parse. A row
// that begins with '{' is in the JSON that earlier versions wrote, and
// decodes as before; TestRowCodecEveryField fails when a field is added to
// State or to anything it holds and the codec misses it.
//
// Upgrading: the readers of the table (gateways, processors recovering it)
// read every earlier form, but a reader of an earlier version knows only
// the forms before it, so upgrade every gateway before the processors
// start writing rows of a new version. A field added to State needs a new
// version byte; TestRowCodecReadsV1Rows keeps the rows of version 1
// readable.

// rowV1 and rowV2 open a binary row; JSON rows open with '{'. Version 2
// adds the bid a verdict overtook (Verdict.Outbid) and the soft close: the
// item's SoftClose, the end it moved to (State.EndsAt) and the end each
// verdict moved it to (Verdict.EndsAt). Rows are written in version 2 and
// read in either.
const (
	rowV1 = 0xb1
	rowV2 = 0xb2
)

// EncodeRow encodes an auction's state as the group table stores it.
func EncodeRow(s *State) []byte {
	w := rowWriter{b: make([]byte, 0, 256+len(s.Recent)*128+len(s.Pending)*160)}
	w.b = append(w.b, rowV2)
	w.str(string(s.Status))
	if w.present(s.Item != nil) {
		w.item(s.Item)
	}
	if w.present(s.Highest != nil) {
		w.highest(s.Highest)
	}
	w.int(int64(s.BidCount))
	w.strs(s.Bidders)
	w.uint(uint64(len(s.Recent)))
	for i := range s.Recent {
		v := &s.Recent[i]
		w.str(v.BidID)
		w.str(string(v.Reason))
		w.str(v.Detail)
		w.str(v.BidderID)
		w.money(v.Amount)
		w.time(v.PlacedAt)
		w.time(v.DecidedAt)
		w.int(int64(v.BidCount))
		w.int(v.Offset)
		if w.present(v.Outbid != nil) {
			w.highest(v.Outbid)
		}
		w.time(v.EndsAt)
	}
	w.uint(uint64(len(s.Pending)))
	for i := range s.Pending {
		w.bid(&s.Pending[i])
	}
	if w.present(s.HeldClose != nil) {
		h := s.HeldClose
		w.str(h.Close.ItemID)
		w.time(h.Close.EndsAt)
		w.time(h.Close.CloseAt)
		w.str(h.EventID)
		w.int(h.Offset)
		w.int(int64(h.After))
	}
	if w.present(s.Result != nil) {
		w.completed(s.Result)
	}
	w.int(s.ClosedBy)
	w.int(s.Applied)
	w.int(s.Version)
	w.time(s.EndsAt)
	return w.b
}

// DecodeRow decodes a row of the group table, binary or JSON.
func DecodeRow(b []byte) (*State, error) {
	if len(b) == 0 {
		return nil, errors.New("auction table: empty row")
	}
	if b[0] == '{' {
		var s State
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("auction table: %w", err)
		}
		return &s, nil
	}
	if b[0] != rowV1 && b[0] != rowV2 {
		return nil, fmt.Errorf("auction table: row of unknown version %#x", b[0])
	}
	// Every string of the row is a slice of one copy of it: one allocation
	// for all of them, and nothing aliases b, which belongs to the caller.
	r := rowReader{s: string(b[1:]), v: b[0]}
	var s State
	s.Status = Status(r.str())
	if r.present() {
		s.Item = new(schemas.ItemPlaced)
		r.item(s.Item)
	}
	if r.present() {
		s.Highest = r.highest()
	}
	s.BidCount = int(r.int())
	s.Bidders = r.strs(false)
	if n := r.count(); n > 0 {
		s.Recent = make([]Verdict, n)
		for i := range s.Recent {
			v := &s.Recent[i]
			v.BidID = r.str()
			v.Reason = schemas.RejectReason(r.str())
			v.Detail = r.str()
			v.BidderID = r.str()
			v.Amount = r.money()
			v.PlacedAt = r.time()
			v.DecidedAt = r.time()
			v.BidCount = int(r.int())
			v.Offset = r.int()
			if r.v >= rowV2 {
				if r.present() {
					v.Outbid = r.highest()
				}
				v.EndsAt = r.time()
			}
		}
	}
	if n := r.count(); n > 0 {
		s.Pending = make([]schemas.BidPlaced, n)
		for i := range s.Pending {
			r.bid(&s.Pending[i])
		}
	}
	if r.present() {
		h := &HeldClose{}
		h.Close.ItemID = r.str()
		h.Close.EndsAt = r.time()
		h.Close.CloseAt = r.time()
		h.EventID = r.str()
		h.Offset = r.int()
		h.After = int(r.int())
		s.HeldClose = h
	}
	if r.present() {
		s.Result = new(schemas.ItemCompleted)
		r.completed(s.Result)
	}
	s.ClosedBy = r.int()
	s.Applied = r.int()
	s.Version = r.int()
	if r.v >= rowV2 {
		s.EndsAt = r.time()
	}
	if r.err != nil {
		return nil, fmt.Errorf("auction table: %w", r.err)
	}
	if r.s != "" {
		return nil, fmt.Errorf("auction table: %d bytes after the row", len(r.s))
	}
	return &s, nil
}

type rowWriter struct{ b []byte }

func (w *rowWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *rowWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *rowWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *rowWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *rowWriter) present(ok bool) bool {
	if ok {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
	return ok
}

func (w *rowWriter) bool(ok bool) { w.present(ok) }

func (w *rowWriter) money(m schemas.Money) {
	w.int(m.Amount)
	w.str(m.Currency)
}

func (w *rowWriter) party(p schemas.Party) {
	w.str(p.ID)
	w.str(p.Name)
	w.str(p.Location)
}

// time writes the zero time as one byte, any other as seconds, nanoseconds
// and the zone's offset from UTC, which is what JSON keeps of a time too.
func (w *rowWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	_, off := t.Zone()
	w.b = append(w.b, 1)
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
	w.int(int64(off))
}

func (w *rowWriter) item(it *schemas.ItemPlaced) {
	w.str(it.ItemID)
	w.party(it.Seller)
	w.str(it.Title)
	w.str(it.Description)
	w.str(it.Category)
	w.money(it.StartingPrice)
	if w.present(it.ReservePrice != nil) {
		w.money(*it.ReservePrice)
	}
	w.money(it.MinIncrement)
	w.time(it.EndsAt)
	w.time(it.PlacedAt)
	if w.present(it.SoftClose != nil) {
		w.int(int64(it.SoftClose.WindowSeconds))
		w.int(int64(it.SoftClose.MaxExtensionSeconds))
	}
}

func (w *rowWriter) highest(h *Bid) {
	w.str(h.BidID)
	w.str(h.BidderID)
	w.money(h.Amount)
	w.time(h.PlacedAt)
}

func (w *rowWriter) bid(b *schemas.BidPlaced) {
	w.str(b.BidID)
	w.str(b.ItemID)
	w.party(b.Bidder)
	w.money(b.Amount)
	w.time(b.PlacedAt)
}

func (w *rowWriter) completed(c *schemas.ItemCompleted) {
	w.str(c.ItemID)
	w.str(c.SellerID)
	w.str(c.Title)
	w.str(c.Category)
	w.bool(c.Sold)
	w.str(c.WinnerID)
	if w.present(c.Price != nil) {
		w.money(*c.Price)
	}
	w.bool(c.ReserveMet)
	w.int(int64(c.BidCount))
	w.present(c.Bidders != nil)
	w.strs(c.Bidders)
	w.time(c.EndsAt)
	w.time(c.ClosedAt)
}

// rowReader reads what rowWriter wrote. Its first error sticks: every read
// after it returns zero values, and DecodeRow reports it once.
type rowReader struct {
	s   string
	v   byte // the row's version
	err error
}

var errShortRow = errors.New("row ends early")

func (r *rowReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.s = ""
}

func (r *rowReader) uint() uint64 {
	v, n := uvarint(r.s)
	if n <= 0 {
		r.fail(errShortRow)
		return 0
	}
	r.s = r.s[n:]
	return v
}

func (r *rowReader) int() int64 {
	u := r.uint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length, refusing one longer than the bytes that are left
// (each element takes one at least), so a corrupt row cannot allocate much.
func (r *rowReader) count() int {
	n := r.uint()
	if n > uint64(len(r.s)) {
		r.fail(errShortRow)
		return 0
	}
	return int(n)
}

func (r *rowReader) str() string {
	n := r.count()
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *rowReader) strs(keepEmpty bool) []string {
	n := r.count()
	if n == 0 && !keepEmpty {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *rowReader) byte() byte {
	if r.s == "" {
		r.fail(errShortRow)
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

func (r *rowReader) present() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail(errors.New("bad presence byte"))
	return false
}

func (r *rowReader) bool() bool { return r.present() }

func (r *rowReader) money() schemas.Money {
	return schemas.Money{Amount: r.int(), Currency: r.str()}
}

func (r *rowReader) party() schemas.Party {
	return schemas.Party{ID: r.str(), Name: r.str(), Location: r.str()}
}

func (r *rowReader) time() time.Time {
	if !r.present() {
		return time.Time{}
	}
	sec, nsec, off := r.int(), r.uint(), r.int()
	if nsec >= 1e9 || off < math.MinInt32 || off > math.MaxInt32 {
		r.fail(errors.New("bad time"))
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(off)))
}

func (r *rowReader) item(it *schemas.ItemPlaced) {
	it.ItemID = r.str()
	it.Seller = r.party()
	it.Title = r.str()
	it.Description = r.str()
	it.Category = r.str()
	it.StartingPrice = r.money()
	if r.present() {
		m := r.money()
		it.ReservePrice = &m
	}
	it.MinIncrement = r.money()
	it.EndsAt = r.time()
	it.PlacedAt = r.time()
	if r.v >= rowV2 && r.present() {
		it.SoftClose = &schemas.SoftClose{WindowSeconds: int(r.int()), MaxExtensionSeconds: int(r.int())}
	}
}

func (r *rowReader) highest() *Bid {
	return &Bid{BidID: r.str(), BidderID: r.str(), Amount: r.money(), PlacedAt: r.time()}
}

func (r *rowReader) bid(b *schemas.BidPlaced) {
	b.BidID = r.str()
	b.ItemID = r.str()
	b.Bidder = r.party()
	b.Amount = r.money()
	b.PlacedAt = r.time()
}

func (r *rowReader) completed(c *schemas.ItemCompleted) {
	c.ItemID = r.str()
	c.SellerID = r.str()
	c.Title = r.str()
	c.Category = r.str()
	c.Sold = r.bool()
	c.WinnerID = r.str()
	if r.present() {
		m := r.money()
		c.Price = &m
	}
	c.ReserveMet = r.bool()
	c.BidCount = int(r.int())
	c.Bidders = r.strs(r.present())
	c.EndsAt = r.time()
	c.ClosedAt = r.time()
}

// uvarint is binary.Uvarint over a string.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
