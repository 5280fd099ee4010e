package thumbnail

import (
	"encoding/binary"
	"image"
)

// jpegCost reads the frame header (SOFn) to bound what image/jpeg
// allocates: one byte per sample of each component over whole MCUs, and
// for a progressive JPEG a 64-coefficient int32 block per 8×8 samples
// besides (4 bytes a sample). A four-component (CMYK) image is counted
// twice, for its conversion.
func jpegCost(data []byte, cfg image.Config) (int64, error) {
	sof, progressive, ok := frameHeader(data)
	if !ok || len(sof) < 6 {
		return 0, refuse(Malformed, "jpeg: no frame header")
	}
	n := int(sof[5])
	if n == 0 || len(sof) < 6+3*n {
		return 0, refuse(Malformed, "jpeg: short frame header")
	}
	hmax, vmax := 1, 1
	for i := range n {
		hv := sof[6+3*i+1]
		hmax, vmax = max(hmax, int(hv>>4)), max(vmax, int(hv&15))
	}
	mxx := (int64(cfg.Width) + 8*int64(hmax) - 1) / (8 * int64(hmax))
	myy := (int64(cfg.Height) + 8*int64(vmax) - 1) / (8 * int64(vmax))
	var samples int64
	for i := range n {
		hv := sof[6+3*i+1]
		samples += mxx * 8 * int64(hv>>4) * myy * 8 * int64(hv&15)
	}
	cost := samples
	if progressive {
		cost += 4 * samples
	}
	if n == 4 {
		cost *= 2
	}
	return cost, nil
}

// frameHeader walks the JPEG's marker segments to the first start-of-frame
// and returns its payload and whether it is progressive.
func frameHeader(b []byte) (sof []byte, progressive, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, false, false
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return nil, false, false
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0x01 || m >= 0xd0 && m <= 0xd7: // no payload
			i += 2
			continue
		case m == 0xda || m == 0xd9: // scan or end before any frame
			return nil, false, false
		}
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		if l < 2 || i+2+l > len(b) {
			return nil, false, false
		}
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			return b[i+4 : i+2+l], m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce, true
		}
		i += 2 + l
	}
	return nil, false, false
}
