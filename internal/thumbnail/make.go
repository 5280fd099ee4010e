// Package thumbnail makes small copies of the images members upload, for
// the portal's gallery cards and preview pages. It reads JPEG, PNG, GIF
// and WebP and writes JPEG, or PNG when the image has transparency.
//
// # Bounds
//
// Files are untrusted, so every cost is bounded before it is paid:
//
//   - a file of more than MaxInputBytes (16 MiB) is refused unread;
//   - an image whose header declares more than MaxPixels (40 megapixels,
//     e.g. 8000×5000) is refused before it is decoded;
//   - an image whose decoded form would take more than MaxDecodeBytes
//     (96 MiB: pixels × the bytes per pixel of its colour model, plus a
//     progressive JPEG's coefficients and an interlaced PNG's passes) is
//     refused before it is decoded;
//   - scaling first averages blocks of pixels down to less than twice the
//     target size, so what it allocates besides the decoded image is at
//     most 4 × 4 × size² bytes (26 MiB for the 1280 px preview).
//
// One making thus holds at most PeakBytes: 16 + 96 + 25 MiB, plus the
// output image and its encoding (12.5 MiB), about 150 MiB. A Maker runs
// at most Concurrency (2) at once, so thumbnails never hold more than
// about 300 MiB besides the cache (CacheBytes, 64 MiB by default).
//
// Malformed files (truncated, a header on garbage, unknown formats) are
// refused with an error that wraps ErrRefused and names the reason.
package thumbnail

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Sizes of the thumbnails the portal asks for: the longer side, in pixels.
const (
	CardSize    = 320
	PreviewSize = 1280
)

// Bounds on the input (see the package comment).
const (
	MaxInputBytes  = 16 << 20
	MaxPixels      = 40_000_000
	MaxDecodeBytes = 96 << 20
)

// PeakBytes bounds what one making of a thumbnail holds at once: the
// input, the decoded image, the block-averaged copy (under 2×size on each
// side, 4 bytes a pixel) and the output image with its encoding.
const PeakBytes = MaxInputBytes + MaxDecodeBytes + 16*PreviewSize*PreviewSize + 8*PreviewSize*PreviewSize

// ErrRefused is wrapped by every error that refuses a file for what it
// holds (as opposed to a failure to read it).
var ErrRefused = errors.New("thumbnail refused")

// Reasons a file is refused for, as Refusal.Reason.
const (
	TooLarge  = "too-large" // more than MaxInputBytes
	TooBig    = "too-big"   // more than MaxPixels or MaxDecodeBytes
	Malformed = "malformed" // not an image of a known format, or damaged
	BadSize   = "bad-size"  // a size other than CardSize or PreviewSize
)

// Refusal is the error for a file no thumbnail is made of.
type Refusal struct {
	Reason string // TooLarge, TooBig, Malformed or BadSize
	Detail string
}

func (r *Refusal) Error() string { return "thumbnail refused (" + r.Reason + "): " + r.Detail }

// Is makes errors.Is(err, ErrRefused) hold for every Refusal.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

func refuse(reason, format string, args ...any) error {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Thumb is a made thumbnail.
type Thumb struct {
	Body          []byte
	ContentType   string // "image/jpeg" or "image/png"
	Width, Height int
}

// Make scales the image in data down to fit a size×size square (images
// already smaller keep their size) and encodes it.
func Make(data []byte, size int) (*Thumb, error) {
	if size != CardSize && size != PreviewSize {
		return nil, refuse(BadSize, "size %d", size)
	}
	if len(data) > MaxInputBytes {
		return nil, refuse(TooLarge, "%d bytes, more than %d", len(data), MaxInputBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, refuse(Malformed, "%v", err)
	}
	if err := checkCost(data, cfg, format); err != nil {
		return nil, err
	}
	src, err := decode(data, format)
	if err != nil {
		return nil, refuse(Malformed, "%s: %v", format, err)
	}
	if b := src.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, refuse(Malformed, "%s: decoded %v, header says %dx%d", format, b, cfg.Width, cfg.Height)
	}
	dst := scale(src, size)
	src = nil //nolint:ineffassign // let the collector take the decoded image while encoding
	return encode(dst)
}

// checkCost refuses an image whose decoding would cost more than the
// bounds allow, from its header alone.
func checkCost(data []byte, cfg image.Config, format string) error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return refuse(Malformed, "%s: %dx%d pixels", format, w, h)
	}
	if w*h > MaxPixels {
		return refuse(TooBig, "%dx%d is more than %d pixels", w, h, MaxPixels)
	}
	cost, err := decodeCost(data, cfg, format)
	if err != nil {
		return err
	}
	if cost > MaxDecodeBytes {
		return refuse(TooBig, "%dx%d %s would take %d bytes to decode, more than %d", w, h, format, cost, MaxDecodeBytes)
	}
	return nil
}

// decodeCost is an upper bound on the bytes the standard decoders
// allocate for the image.
func decodeCost(data []byte, cfg image.Config, format string) (int64, error) {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "jpeg":
		return jpegCost(data, cfg)
	case "png":
		cost := px * bytesPerPixel(cfg.ColorModel)
		if len(data) > 28 && data[28] == 1 { // IHDR interlace method: Adam7 decodes each pass apart
			cost *= 2
		}
		return cost, nil
	case "gif":
		return px, nil // the first frame, one palette index per pixel
	case "webp":
		switch cfg.ColorModel {
		case color.YCbCrModel: // lossy: 4:2:0
			return px * 2, nil
		case color.NYCbCrAModel: // lossy with a lossless alpha plane
			return px * 7, nil
		}
		return px * 8, nil // lossless: ARGB words and the NRGBA image
	}
	return 0, refuse(Malformed, "format %q", format)
}

func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

func decode(data []byte, format string) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.Decode(r)
	case "png":
		return png.Decode(r)
	case "gif":
		return gif.Decode(r)
	case "webp":
		return webp.Decode(r)
	}
	return nil, fmt.Errorf("format %q", format)
}

// scale returns src fitted into a size×size square. Large reductions are
// first done by averaging whole blocks (reduce), which reads every pixel
// and allocates only the smaller image; the last factor below two is
// bilinear, which needs no buffer of the source's size (the kernels of
// x/image/draw allocate 32 bytes × target width × source height).
func scale(src image.Image, size int) *image.RGBA {
	b := src.Bounds()
	w, h := fit(b.Dx(), b.Dy(), size)
	if k := min(b.Dx()/w, b.Dy()/h); k >= 2 {
		src = reduce(src, k)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// fit is w×h scaled to fit size×size, keeping the aspect ratio; never
// larger than it was, never less than one pixel.
func fit(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, int((int64(h)*int64(size)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(size)+int64(h)/2)/int64(h))), size
}

// encode writes an opaque image as JPEG and one with any transparency as
// PNG, which keeps it.
func encode(img *image.RGBA) (*Thumb, error) {
	var buf bytes.Buffer
	t := &Thumb{Width: img.Rect.Dx(), Height: img.Rect.Dy()}
	if img.Opaque() {
		t.ContentType = "image/jpeg"
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 82}); err != nil {
			return nil, err
		}
	} else {
		t.ContentType = "image/png"
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
			return nil, err
		}
	}
	t.Body = buf.Bytes()
	return t, nil
}
