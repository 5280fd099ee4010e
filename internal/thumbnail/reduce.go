package thumbnail

import "image"

// reduce returns src shrunk k times in each direction, each pixel the
// average of a k×k block (the blocks at the right and bottom edges may be
// smaller). Averaging is done in premultiplied colour, so transparent
// pixels do not darken their neighbours. Besides the result it allocates
// one row of sums.
func reduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	w, h := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	at := pixels(src)
	sums := make([]uint64, 4*w)
	for oy := range h {
		clear(sums)
		y0, y1 := b.Min.Y+oy*k, min(b.Min.Y+(oy+1)*k, b.Max.Y)
		for y := y0; y < y1; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, a := at(x, y)
				s := sums[4*((x-b.Min.X)/k):]
				s[0] += uint64(r)
				s[1] += uint64(g)
				s[2] += uint64(bl)
				s[3] += uint64(a)
			}
		}
		row := dst.Pix[oy*dst.Stride:]
		for ox := range w {
			n := uint64(y1-y0) * uint64(min(b.Min.X+(ox+1)*k, b.Max.X)-(b.Min.X+ox*k))
			for c := range 4 {
				row[4*ox+c] = uint8(sums[4*ox+c] / n >> 8)
			}
		}
	}
	return dst
}

// pixels returns a reader of src's premultiplied 16-bit colour that, for
// the types the decoders return, neither allocates nor goes through an
// interface per pixel.
func pixels(src image.Image) func(x, y int) (r, g, b, a uint32) {
	switch s := src.(type) {
	case *image.YCbCr:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.YCbCrAt(x, y).RGBA() }
	case *image.NYCbCrA:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.NYCbCrAAt(x, y).RGBA() }
	case *image.RGBA:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.RGBAAt(x, y).RGBA() }
	case *image.NRGBA:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.NRGBAAt(x, y).RGBA() }
	case *image.Gray:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.GrayAt(x, y).RGBA() }
	case *image.CMYK:
		return func(x, y int) (uint32, uint32, uint32, uint32) { return s.CMYKAt(x, y).RGBA() }
	case *image.Paletted:
		pal := make([][4]uint32, len(s.Palette))
		for i, c := range s.Palette {
			pal[i][0], pal[i][1], pal[i][2], pal[i][3] = c.RGBA()
		}
		return func(x, y int) (uint32, uint32, uint32, uint32) {
			i := int(s.ColorIndexAt(x, y))
			if i >= len(pal) {
				return 0, 0, 0, 0 // an index past a short palette: transparent, as image/draw treats it
			}
			p := pal[i]
			return p[0], p[1], p[2], p[3]
		}
	}
	return func(x, y int) (uint32, uint32, uint32, uint32) { return src.At(x, y).RGBA() }
}
