/*
 * QR symbols for FIDO:/ URLs (hybrid §1.4: version >= 5, EC level M) and pure renderers:
 * terminal text (UTF-8 half blocks), PNG and SVG. Bytes in, text or bytes out; no I/O.
 */
#ifndef CABLE_QR_RENDER_H
#define CABLE_QR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CABLE_QR_MIN_VERSION 5 /* as Chrome asks, so that a centre logo would still scan */
#define CABLE_QR_QUIET_ZONE 4  /* modules of light border the QR standard requires */
#define CABLE_QR_TEXT_MAX 7089 /* characters accepted for encoding */

/* A square of width x width modules, row-major, 1 = dark. */
struct cable_qr_symbol {
	int version;
	int width;
	uint8_t *modules;
};

/*
 * Encodes text at EC level M in the smallest version >= min_version (0 means
 * CABLE_QR_MIN_VERSION); libqrencode picks numeric/alphanumeric/byte segments, so a FIDO:/ URL
 * becomes one alphanumeric and one numeric segment. CABLE_ERR_TOO_BIG when it does not fit.
 */
int cable_qr_symbol_encode(const char *text, int min_version, struct cable_qr_symbol **out);
void cable_qr_symbol_free(struct cable_qr_symbol **sym);
/* The module at (x, y) with a quiet zone: coordinates outside the symbol are light. */
bool cable_qr_symbol_dark(const struct cable_qr_symbol *sym, int x, int y);

enum cable_qr_text_flags {
	/*
	 * By default glyphs draw the LIGHT modules (for light text on a dark terminal, the common
	 * case, like qrencode -t UTF8). INVERT draws the dark modules instead (dark-on-light).
	 */
	CABLE_QR_TEXT_INVERT = 1 << 0,
	/* Wrap each line in ANSI colours (white glyphs on black, or black on white with INVERT)
	 * so that the code scans on any terminal theme. */
	CABLE_QR_TEXT_ANSI = 1 << 1,
};

/*
 * Text with two module rows per line (U+2580 upper half, U+2584 lower half, U+2588 full block,
 * space) and quiet modules of border on every side; each line ends in "\n". Caller frees.
 */
int cable_qr_render_text(const struct cable_qr_symbol *sym, int quiet, unsigned flags, char **out);
/* A 1-bit greyscale PNG, scale pixels per module (1..32), stored (uncompressed) deflate. */
int cable_qr_render_png(const struct cable_qr_symbol *sym, int quiet, int scale, uint8_t **out,
    size_t *out_len);
/* An SVG document, one unit per module, dark modules as one path. Caller frees. */
int cable_qr_render_svg(const struct cable_qr_symbol *sym, int quiet, char **out);

#endif
