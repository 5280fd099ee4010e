package admission

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func request(body string, length int64) *http.Request {
	r := httptest.NewRequest("POST", "/k/v1/records.json", strings.NewReader(body))
	r.ContentLength = length
	return r
}

func TestABodyLargerThanItsKindAllowsIsRefusedUnread(t *testing.T) {
	g := New(Limits{MaxReadBody: 10, MaxBody: 100})
	tests := []struct {
		name string
		kind Kind
		n    int64
		want error
	}{
		{"a read's query", Read, 10, nil},
		{"a read with a body of data", Read, 11, ErrTooLarge},
		{"a write", Write, 100, nil},
		{"a write too large", Write, 101, ErrTooLarge},
		{"an upload within its limit", Upload, 100 << 20, nil},
		{"an upload above it", Upload, 100<<20 + 1, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, done, err := g.Admit(httptest.NewRecorder(), request("", tt.n), "m", tt.kind)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if done != nil {
				done()
			}
		})
	}
}

func TestABodyThatGrowsPastItsLimitIsCut(t *testing.T) {
	g := New(Limits{MaxReadBody: 10})
	r, done, err := g.Admit(httptest.NewRecorder(), request(strings.Repeat("x", 64), -1), "m", Read)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	_, err = io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("reading a chunked body past the limit: %v", err)
	}
}

func TestAMemberHasAtMostPerMemberRequestsInFlight(t *testing.T) {
	g := New(Limits{PerMember: 2})
	var dones []func()
	for i := 0; i < 2; i++ {
		_, done, err := g.Admit(httptest.NewRecorder(), request("", 0), "eve", Read)
		if err != nil {
			t.Fatal(err)
		}
		dones = append(dones, done)
	}
	if _, _, err := g.Admit(httptest.NewRecorder(), request("", 0), "eve", Read); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a third request: %v, want ErrTooMany", err)
	}
	if _, done, err := g.Admit(httptest.NewRecorder(), request("", 0), "bystander", Read); err != nil {
		t.Fatalf("another member was refused: %v", err)
	} else {
		done()
	}
	dones[0]()
	if _, done, err := g.Admit(httptest.NewRecorder(), request("", 0), "eve", Read); err != nil {
		t.Fatalf("after one ended: %v", err)
	} else {
		done()
	}
	dones[1]()
	if n, held := g.InFlight("eve"); n != 0 || held != 0 {
		t.Fatalf("eve still holds %d requests, %d bytes", n, held)
	}
}

func TestTheMemoryBudgetIsSharedAndGivenBack(t *testing.T) {
	// 2 bytes of a write body are charged 32; the budget holds 80.
	g := New(Limits{Memory: 80, PerMemberMemory: 80, MaxBody: 10})
	_, done1, err := g.Admit(httptest.NewRecorder(), request("12", 2), "a", Write)
	if err != nil {
		t.Fatal(err)
	}
	_, done2, err := g.Admit(httptest.NewRecorder(), request("12", 2), "b", Write)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Admit(httptest.NewRecorder(), request("12", 2), "c", Write); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third body over the budget: %v, want ErrBusy", err)
	}
	done1()
	_, done3, err := g.Admit(httptest.NewRecorder(), request("12", 2), "c", Write)
	if err != nil {
		t.Fatalf("after a request ended: %v", err)
	}
	done2()
	done3()
	if !g.memory.TryAcquire(80) {
		t.Fatal("the budget was not given back whole")
	}
}

func TestKintonesAnswersAreChargedToTheirRequest(t *testing.T) {
	g := New(Limits{Memory: 1000, PerMemberMemory: 600})
	r, done, err := g.Admit(httptest.NewRecorder(), request("", 0), "a", Read)
	if err != nil {
		t.Fatal(err)
	}
	if err := ChargeAnswer(r.Context(), 150); err != nil { // 450 held
		t.Fatal(err)
	}
	if err := ChargeAnswer(r.Context(), 100); !errors.Is(err, ErrTooMany) { // 750 > the member's 600
		t.Fatalf("an answer past the member's share: %v", err)
	}
	if _, held := g.InFlight("a"); held != 450 {
		t.Fatalf("held %d, want 450", held)
	}
	done()
	if _, held := g.InFlight("a"); held != 0 {
		t.Fatalf("after the request ended, held %d", held)
	}
	if err := ChargeAnswer(context.Background(), 1<<40); err != nil {
		t.Fatalf("a context of no admitted request: %v", err)
	}
	if err := ChargeAnswer(r.Context(), 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("a charge after the request ended: %v", err)
	}
}

func TestASlowBodyIsCutAtItsDeadline(t *testing.T) {
	g := New(Limits{BodyTimeout: 200 * time.Millisecond, MinBodyRate: 1 << 20})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, done, err := g.Admit(w, r, "slow", Write)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer done()
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "cut: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "read it all")
	}))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 20; i++ { // 20 bytes over 2 s: far below any rate
			pw.Write([]byte("x"))
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL, pr)
	req.ContentLength = 20
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // the server closed the connection on the slow body
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("a body far slower than its deadline was read whole: %s", b)
	}
}

func TestAMemberHasAtMostPerMemberBytesOfBodiesInFlight(t *testing.T) {
	g := New(Limits{PerMemberBytes: 100 << 20})
	_, done, err := g.Admit(httptest.NewRecorder(), request("", 90<<20), "eve", Upload)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Admit(httptest.NewRecorder(), request("", 90<<20), "eve", Upload); !errors.Is(err, ErrTooMany) {
		t.Fatalf("a second 90 MB upload in flight: %v, want ErrTooMany", err)
	}
	if _, d, err := g.Admit(httptest.NewRecorder(), request("", 90<<20), "bystander", Upload); err != nil {
		t.Fatalf("another member's upload: %v", err)
	} else {
		d()
	}
	done()
	if _, d, err := g.Admit(httptest.NewRecorder(), request("", 90<<20), "eve", Upload); err != nil {
		t.Fatalf("after the first ended: %v", err)
	} else {
		d()
	}
}

func TestLimitsThatContradictEachOtherAreRefused(t *testing.T) {
	tests := []struct {
		lim  Limits
		want string
	}{
		{Limits{}, ""},
		{Limits{MaxBody: 16 << 20}, "max_body (16384 KiB) needs per_member_memory of at least 256 MiB"},
		{Limits{MaxBody: 16 << 20, Memory: 512 << 20, PerMemberMemory: 256 << 20}, ""},
		{Limits{Memory: 64 << 20, PerMemberMemory: 128 << 20}, "per_member_memory (128 MiB) is more than memory (64 MiB)"},
	}
	for _, tt := range tests {
		err := tt.lim.Check()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(%+v) = %v, want %q", tt.lim, err, tt.want)
		}
	}
}

func TestAMembersBodiesArePacedToItsRate(t *testing.T) {
	g := New(Limits{PerMemberRate: 1 << 10}) // 1 KiB a second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, done, err := g.Admit(httptest.NewRecorder(), request(strings.Repeat("x", 10<<10), 10<<10).WithContext(ctx), "m", Upload)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	n, err := io.Copy(io.Discard, r.Body)
	if err == nil || n >= 10<<10 {
		t.Fatalf("read %d bytes (%v): 10 KiB at 1 KiB a second cannot arrive within 100 ms", n, err)
	}
}

func TestAnswersArePacedToTheMembersRate(t *testing.T) {
	g := New(Limits{PerMemberRate: 1 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, done, err := g.Admit(httptest.NewRecorder(), request("", 0).WithContext(ctx), "m", Read)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	rec := httptest.NewRecorder()
	n, err := g.Pace(rec, r).Write(make([]byte, 10<<10))
	if err == nil || n >= 10<<10 {
		t.Fatalf("wrote %d bytes (%v): 10 KiB at 1 KiB a second cannot go out within 100 ms", n, err)
	}
}
