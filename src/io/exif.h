// The one EXIF field taec uses: the orientation tag (TIFF tag 0x0112 in IFD0), read with a small
// bounds-checked parser rather than libexif because the rest of EXIF (maker notes, thumbnails,
// sub-IFDs) is attack surface taec has no use for.
#pragma once

#include <cstddef>
#include <cstdint>

namespace taec {

// `tiff` is an EXIF block in TIFF layout ("II*\0" or "MM\0*", then the IFD0 offset): the payload
// of a JPEG APP1 segment after its "Exif\0\0" prefix, or a PNG eXIf chunk (an "Exif\0\0" prefix,
// which some writers add there too, is skipped). Returns the orientation 1..8 (1: as stored; see
// orient_rgb8 in image.cc for the other seven); 1 when the tag is absent, out of range or the block
// is malformed — viewers show such files as stored, and so does taec.
int exif_orientation(const uint8_t* tiff, size_t size);

}  // namespace taec
