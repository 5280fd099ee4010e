package thumbnail

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"runtime"
	"testing"
)

var (
	red  = color.NRGBA{200, 30, 30, 255}
	blue = color.NRGBA{30, 40, 210, 255}
	none = color.NRGBA{0, 0, 0, 0}
)

func TestMakeScalesEachFormatKeepingAspectColourAndTransparency(t *testing.T) {
	for _, tc := range []struct {
		name        string
		data        []byte
		size        int
		w, h        int
		contentType string
		// left and right are the colours expected a quarter in from each
		// side, halfway down; top, when set, the colour at the top middle.
		left, right color.NRGBA
		top         *color.NRGBA
	}{
		{"jpeg landscape to card", encodeJPEG(t, halves(640, 480, red, blue)), CardSize, 320, 240, "image/jpeg", red, blue, nil},
		{"jpeg smaller than the card keeps its size", encodeJPEG(t, halves(100, 50, red, blue)), CardSize, 100, 50, "image/jpeg", red, blue, nil},
		{"jpeg to preview", encodeJPEG(t, halves(4000, 3000, red, blue)), PreviewSize, 1280, 960, "image/jpeg", red, blue, nil},
		{"opaque png portrait", encodePNG(t, halves(300, 900, red, blue)), CardSize, 107, 320, "image/jpeg", red, blue, nil},
		{"transparent png stays png", encodePNG(t, halves(800, 400, none, blue)), CardSize, 320, 160, "image/png", none, blue, nil},
		{"gif", encodeGIF(t, 1000, 500, red, blue, 0), CardSize, 320, 160, "image/jpeg", red, blue, nil},
		{"gif with a transparent index", encodeGIF(t, 1000, 500, red, blue, 100), CardSize, 320, 160, "image/png", red, blue, &none},
		{"webp", solidWebP(2000, 1000, red, false), PreviewSize, 1280, 640, "image/jpeg", red, red, nil},
		{"webp with alpha", solidWebP(600, 600, color.NRGBA{30, 40, 210, 0}, true), CardSize, 320, 320, "image/png", none, none, nil},
		{"square", encodePNG(t, halves(2000, 2000, red, blue)), CardSize, 320, 320, "image/jpeg", red, blue, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, err := Make(tc.data, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if th.ContentType != tc.contentType || th.Width != tc.w || th.Height != tc.h {
				t.Fatalf("got %s %dx%d, want %s %dx%d", th.ContentType, th.Width, th.Height, tc.contentType, tc.w, tc.h)
			}
			img, format, err := image.Decode(bytes.NewReader(th.Body))
			if err != nil || "image/"+format != tc.contentType || img.Bounds().Dx() != tc.w || img.Bounds().Dy() != tc.h {
				t.Fatalf("body decodes as %s %v (%v)", format, img.Bounds(), err)
			}
			near(t, "left", img.At(tc.w/4, tc.h/2), tc.left)
			near(t, "right", img.At(tc.w*3/4, tc.h/2), tc.right)
			if tc.top != nil {
				near(t, "top", img.At(tc.w/2, 0), *tc.top)
			}
		})
	}
}

// near fails unless got is within JPEG's error of want (compared
// non-premultiplied; a transparent pixel only by its alpha).
func near(t *testing.T, where string, got color.Color, want color.NRGBA) {
	t.Helper()
	g := color.NRGBAModel.Convert(got).(color.NRGBA)
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	if d(g.A, want.A) > 8 || want.A != 0 && (d(g.R, want.R) > 24 || d(g.G, want.G) > 24 || d(g.B, want.B) > 24) {
		t.Errorf("%s pixel %v, want about %v", where, g, want)
	}
}

func TestMakeRefusesClearlyAndCheaply(t *testing.T) {
	small := encodeJPEG(t, halves(64, 64, red, blue))
	for _, tc := range []struct {
		name   string
		data   []byte
		size   int
		reason string
		// maxAlloc bounds the bytes allocated while refusing: header checks
		// must refuse before anything the size of the image is made.
		maxAlloc uint64
	}{
		{"empty", nil, CardSize, Malformed, 1 << 20},
		{"text", []byte("not an image at all, just words"), CardSize, Malformed, 1 << 20},
		{"truncated jpeg", small[:len(small)/2], CardSize, Malformed, 4 << 20},
		{"png header on garbage", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xa5}, 4096)...), CardSize, Malformed, 1 << 20},
		{"png bomb declaring 100000x100000", pngBomb(100000, 100000, 6), CardSize, TooBig, 1 << 20},
		{"png bomb within the pixels but not the memory", pngBomb(7000, 5000, 6), CardSize, TooBig, 1 << 20},
		{"png whose data is shorter than declared", pngBomb(4000, 4000, 0), CardSize, Malformed, 24 << 20},
		{"webp declaring 16384x16384", solidWebP(16384, 16384, red, false), CardSize, TooBig, 1 << 20},
		{"jpeg declaring 60000x60000", withJPEGSize(t, small, 60000, 60000), CardSize, TooBig, 1 << 20},
		{"jpeg declaring 64x64 over its data", withJPEGSize(t, encodeJPEG(t, halves(16, 16, red, blue)), 64, 64), CardSize, Malformed, 4 << 20},
		{"more bytes than the bound", make([]byte, MaxInputBytes+1), CardSize, TooLarge, 1 << 20},
		{"a size other than the two", small, 500, BadSize, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			th, err := Make(tc.data, tc.size)
			runtime.ReadMemStats(&after)
			var r *Refusal
			if !errors.Is(err, ErrRefused) || !errors.As(err, &r) || r.Reason != tc.reason {
				t.Fatalf("Make = %v, %v; want a refusal for %s", th, err, tc.reason)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > tc.maxAlloc {
				t.Errorf("refusing allocated %d bytes, more than %d", got, tc.maxAlloc)
			}
		})
	}
}

// TestMakeFortyMegapixelsWithinPeakBytes thumbnails an 8000×5000 JPEG (40
// megapixels, the bound) at both sizes. The bytes allocated while making
// it bound how far the heap grew, so they must stay within PeakBytes.
func TestMakeFortyMegapixelsWithinPeakBytes(t *testing.T) {
	data := fortyMegapixelJPEG(t)
	for _, size := range []int{CardSize, PreviewSize} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		th, err := Make(data, size)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		decoded := uint64(8000 * 5000 * 3 / 2) // the YCbCr 4:2:0 image the decoder must make
		t.Logf("size %d: input %d bytes, allocated %d bytes making %dx%d (decoded image alone %d, bound %d)",
			size, len(data), alloc, th.Width, th.Height, decoded, PeakBytes)
		if uint64(len(data))+alloc > PeakBytes {
			t.Errorf("input and allocations %d bytes, more than PeakBytes %d", uint64(len(data))+alloc, PeakBytes)
		}
		if alloc < decoded {
			t.Errorf("allocated %d bytes, less than the decoded image: the measure is wrong", alloc)
		}
		if w, h := fit(8000, 5000, size); th.Width != w || th.Height != h {
			t.Errorf("got %dx%d, want %dx%d", th.Width, th.Height, w, h)
		}
	}
}

// fortyMegapixelJPEG encodes an 8000×5000 gradient; the source image is
// let go before the measuring starts.
func fortyMegapixelJPEG(t *testing.T) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, 8000, 5000), image.YCbCrSubsampleRatio420)
	for y := range 5000 {
		for x := range 8000 {
			img.Y[y*img.YStride+x] = uint8((x + y) / 64)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i/4000), 128
	}
	return encodeJPEG(t, img)
}

func TestFitKeepsAspectAndNeverEnlarges(t *testing.T) {
	for _, tc := range []struct{ w, h, size, ww, wh int }{
		{8000, 5000, 320, 320, 200},
		{5000, 8000, 1280, 800, 1280},
		{100, 100, 320, 100, 100},
		{10000, 3, 320, 320, 1},
		{321, 320, 320, 320, 319},
	} {
		if w, h := fit(tc.w, tc.h, tc.size); w != tc.ww || h != tc.wh {
			t.Errorf("fit(%d, %d, %d) = %dx%d, want %dx%d", tc.w, tc.h, tc.size, w, h, tc.ww, tc.wh)
		}
	}
}
