/* QR symbols through libqrencode, and renderers to terminal text, PNG and SVG (pure, no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "cable/error.h"
#include "cable/qr-render.h"

#define MAX_QUIET 16
#define MAX_SCALE 32

int
cable_qr_symbol_encode(const char *text, int min_version, struct cable_qr_symbol **out)
{
	struct cable_qr_symbol *sym = NULL;
	QRcode *code = NULL;
	size_t n;
	int r = CABLE_ERR_INTERNAL;

	if (text == NULL || out == NULL || min_version < 0 || min_version > 40)
		return CABLE_ERR_ARG;
	if (strlen(text) == 0 || strlen(text) > CABLE_QR_TEXT_MAX)
		return CABLE_ERR_TOO_BIG;
	if (min_version == 0)
		min_version = CABLE_QR_MIN_VERSION;
	/* QR_MODE_8 as the hint lets libqrencode split into numeric and alphanumeric segments. */
	if ((code = QRcode_encodeString(text, min_version, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL) {
		r = CABLE_ERR_TOO_BIG;
		goto out;
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL ||
	    (sym->modules = malloc((size_t)code->width * (size_t)code->width)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	sym->version = code->version;
	sym->width = code->width;
	n = (size_t)code->width * (size_t)code->width;
	for (size_t i = 0; i < n; i++)
		sym->modules[i] = code->data[i] & 1; /* bit 0 is the module colour */
	*out = sym;
	sym = NULL;
	r = 0;
out:
	cable_qr_symbol_free(&sym);
	if (code != NULL)
		QRcode_free(code);
	return r;
}

void
cable_qr_symbol_free(struct cable_qr_symbol **sym)
{
	if (sym == NULL || *sym == NULL)
		return;
	free((*sym)->modules);
	free(*sym);
	*sym = NULL;
}

bool
cable_qr_symbol_dark(const struct cable_qr_symbol *sym, int x, int y)
{
	if (x < 0 || y < 0 || x >= sym->width || y >= sym->width)
		return false;
	return sym->modules[(size_t)y * (size_t)sym->width + (size_t)x] != 0;
}

static bool
symbol_ok(const struct cable_qr_symbol *sym, int quiet)
{
	return sym != NULL && sym->modules != NULL && sym->width >= 21 && sym->width <= 177 &&
	    quiet >= 0 && quiet <= MAX_QUIET;
}

int
cable_qr_render_text(const struct cable_qr_symbol *sym, int quiet, unsigned flags, char **out)
{
	static const char *const glyphs[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
	/* Glyphs are white on black when they draw light modules, black on white when dark. */
	static const char ansi_light[] = "\x1b[40;97m", ansi_dark[] = "\x1b[107;30m";
	static const char ansi_off[] = "\x1b[0m";
	const char *ansi_on = (flags & CABLE_QR_TEXT_INVERT) ? ansi_dark : ansi_light;
	int side, lines;
	size_t cap, len = 0;
	char *s;

	if (!symbol_ok(sym, quiet) || out == NULL)
		return CABLE_ERR_ARG;
	side = sym->width + 2 * quiet;
	lines = (side + 1) / 2;
	/* Up to 3 bytes per glyph, plus colours and the newline per line. */
	cap = (size_t)lines * ((size_t)side * 3 + sizeof(ansi_dark) + sizeof(ansi_off) + 1) + 1;
	if ((s = malloc(cap)) == NULL)
		return CABLE_ERR_NOMEM;
	for (int line = 0; line < lines; line++) {
		if (flags & CABLE_QR_TEXT_ANSI) {
			memcpy(s + len, ansi_on, strlen(ansi_on));
			len += strlen(ansi_on);
		}
		for (int col = 0; col < side; col++) {
			int x = col - quiet, y = 2 * line - quiet;
			bool top = cable_qr_symbol_dark(sym, x, y);
			/* A last odd row has nothing under it: treat the missing half as quiet. */
			bool bottom = 2 * line + 1 < side ? cable_qr_symbol_dark(sym, x, y + 1) : false;
			bool tdraw = (flags & CABLE_QR_TEXT_INVERT) ? top : !top;
			bool bdraw = (flags & CABLE_QR_TEXT_INVERT) ? bottom : !bottom;
			const char *g;

			if (2 * line + 1 >= side)
				bdraw = false;
			g = glyphs[(tdraw ? 2 : 0) | (bdraw ? 1 : 0)];
			memcpy(s + len, g, strlen(g));
			len += strlen(g);
		}
		if (flags & CABLE_QR_TEXT_ANSI) {
			memcpy(s + len, ansi_off, sizeof(ansi_off) - 1);
			len += sizeof(ansi_off) - 1;
		}
		s[len++] = '\n';
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

/* PNG pieces: CRC-32 (ISO 3309) and Adler-32, written out here to avoid a zlib dependency. */
static uint32_t
crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC over type and data) at *pos. */
static void
png_chunk(uint8_t *buf, size_t *pos, const char type[4], const uint8_t *data, size_t n)
{
	uint8_t *start = buf + *pos;

	put32(start, (uint32_t)n);
	memcpy(start + 4, type, 4);
	if (n > 0)
		memcpy(start + 8, data, n);
	put32(start + 8 + n, crc32_update(0, start + 4, 4 + n));
	*pos += 12 + n;
}

int
cable_qr_render_png(const struct cable_qr_symbol *sym, int quiet, int scale, uint8_t **out,
    size_t *out_len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t ihdr[13], *raw = NULL, *z = NULL, *png = NULL;
	size_t side, stride, raw_len, blocks, z_len, png_len, pos = 0, zp = 0;
	uint32_t a = 1, b = 0;
	int r = CABLE_ERR_INTERNAL;

	if (!symbol_ok(sym, quiet) || scale < 1 || scale > MAX_SCALE || out == NULL || out_len == NULL)
		return CABLE_ERR_ARG;
	side = (size_t)(sym->width + 2 * quiet) * (size_t)scale;
	stride = 1 + (side + 7) / 8; /* filter byte, then 1 bit per pixel */
	raw_len = stride * side;
	if ((raw = calloc(1, raw_len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	for (size_t py = 0; py < side; py++) {
		uint8_t *row = raw + py * stride;
		for (size_t px = 0; px < side; px++) {
			int x = (int)(px / (size_t)scale) - quiet, y = (int)(py / (size_t)scale) - quiet;
			/* Greyscale 1 bit: 1 is white, so light modules set the bit. */
			if (!cable_qr_symbol_dark(sym, x, y))
				row[1 + px / 8] |= (uint8_t)(0x80 >> (px % 8));
		}
	}
	/* zlib stream of stored deflate blocks (at most 65535 bytes each). */
	blocks = raw_len / 65535 + 1;
	z_len = 2 + blocks * 5 + raw_len + 4;
	if ((z = malloc(z_len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	z[zp++] = 0x78;
	z[zp++] = 0x01;
	for (size_t off = 0, i = 0; i < blocks; i++) {
		size_t n = raw_len - off < 65535 ? raw_len - off : 65535;
		z[zp++] = i + 1 == blocks ? 1 : 0;
		z[zp++] = (uint8_t)n;
		z[zp++] = (uint8_t)(n >> 8);
		z[zp++] = (uint8_t)~n;
		z[zp++] = (uint8_t)(~n >> 8);
		memcpy(z + zp, raw + off, n);
		zp += n;
		off += n;
	}
	for (size_t i = 0; i < raw_len; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	put32(z + zp, b << 16 | a);
	zp += 4;
	put32(ihdr, (uint32_t)side);
	put32(ihdr + 4, (uint32_t)side);
	ihdr[8] = 1;  /* bit depth */
	ihdr[9] = 0;  /* greyscale */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering (every row uses filter 0) */
	ihdr[12] = 0; /* no interlace */
	png_len = sizeof(sig) + (12 + sizeof(ihdr)) + (12 + zp) + 12;
	if ((png = malloc(png_len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	memcpy(png, sig, sizeof(sig));
	pos = sizeof(sig);
	png_chunk(png, &pos, "IHDR", ihdr, sizeof(ihdr));
	png_chunk(png, &pos, "IDAT", z, zp);
	png_chunk(png, &pos, "IEND", NULL, 0);
	*out = png;
	*out_len = pos;
	png = NULL;
	r = 0;
out:
	free(raw);
	free(z);
	free(png);
	return r;
}

int
cable_qr_render_svg(const struct cable_qr_symbol *sym, int quiet, char **out)
{
	char *s = NULL;
	size_t cap, len = 0;
	int side, n;

	if (!symbol_ok(sym, quiet) || out == NULL)
		return CABLE_ERR_ARG;
	side = sym->width + 2 * quiet;
	/* Header and footer fit in 512 bytes; each dark module is at most "M177 177h1v1h-1z". */
	cap = 512 + (size_t)sym->width * (size_t)sym->width * 20;
	if ((s = malloc(cap)) == NULL)
		return CABLE_ERR_NOMEM;
	n = snprintf(s, cap,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"",
	    side, side, side * 8, side * 8, side, side);
	if (n < 0 || (size_t)n >= cap)
		goto fail;
	len = (size_t)n;
	for (int y = 0; y < sym->width; y++)
		for (int x = 0; x < sym->width; x++) {
			if (!cable_qr_symbol_dark(sym, x, y))
				continue;
			n = snprintf(s + len, cap - len, "M%d %dh1v1h-1z", x + quiet, y + quiet);
			if (n < 0 || (size_t)n >= cap - len)
				goto fail;
			len += (size_t)n;
		}
	n = snprintf(s + len, cap - len, "\"/>\n</svg>\n");
	if (n < 0 || (size_t)n >= cap - len)
		goto fail;
	*out = s;
	return 0;
fail:
	free(s);
	return CABLE_ERR_INTERNAL;
}
