/* Unit tests: QR symbol encoding (version >= 5, level M) and the text, PNG and SVG renderers. */
#include <stdlib.h>
#include <string.h>

#include "cable/error.h"
#include "cable/qr-render.h"
#include "cable/qr.h"
#include "tv.h"

static const char *
chrome_url(void)
{
	return tv_str(tv_get("qr_url_generated_by_chrome_roundtrip"), "inputs.url");
}

static void
test_symbol_version(void **state)
{
	struct cable_qr_symbol *sym = NULL;
	char *big;

	(void)state;
	/* A Chrome URL (174 characters) fits version 5-M, as hybrid §1.4 works out. */
	assert_int_equal(cable_qr_symbol_encode(chrome_url(), 0, &sym), 0);
	assert_int_equal(sym->version, 5);
	assert_int_equal(sym->width, 37);
	cable_qr_symbol_free(&sym);
	assert_null(sym);
	/* Tiny text is still version 5; a higher minimum is honoured. */
	assert_int_equal(cable_qr_symbol_encode("FIDO:/000", 0, &sym), 0);
	assert_int_equal(sym->version, 5);
	cable_qr_symbol_free(&sym);
	assert_int_equal(cable_qr_symbol_encode("FIDO:/000", 7, &sym), 0);
	assert_int_equal(sym->version, 7);
	assert_int_equal(sym->width, 45);
	cable_qr_symbol_free(&sym);
	/* Too much for version 40 is an error. */
	big = malloc(CABLE_QR_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', CABLE_QR_TEXT_MAX + 1);
	big[CABLE_QR_TEXT_MAX + 1] = '\0';
	assert_int_equal(cable_qr_symbol_encode(big, 0, &sym), CABLE_ERR_TOO_BIG);
	big[3000] = '\0'; /* 3000 bytes in byte mode exceed 40-M (2331) */
	assert_int_equal(cable_qr_symbol_encode(big, 0, &sym), CABLE_ERR_TOO_BIG);
	free(big);
	cable_qr_symbol_free(&sym); /* NULL is fine */
}

/* Reads one UTF-8 glyph of the renderer back into (top, bottom) drawn flags. */
static size_t
glyph(const char *s, bool *top, bool *bottom)
{
	if (s[0] == ' ') {
		*top = *bottom = false;
		return 1;
	}
	assert_int_equal((unsigned char)s[0], 0xe2);
	assert_int_equal((unsigned char)s[1], 0x96);
	switch ((unsigned char)s[2]) {
	case 0x80: *top = true; *bottom = false; break;
	case 0x84: *top = false; *bottom = true; break;
	case 0x88: *top = *bottom = true; break;
	default: fail_msg("unexpected glyph");
	}
	return 3;
}

static void
check_text(const struct cable_qr_symbol *sym, int quiet, unsigned flags)
{
	char *text = NULL;
	const char *p;
	int side = sym->width + 2 * quiet, lines = 0;

	assert_int_equal(cable_qr_render_text(sym, quiet, flags, &text), 0);
	p = text;
	for (int line = 0; *p != '\0'; line++, lines++) {
		if (flags & CABLE_QR_TEXT_ANSI) {
			/* Light glyphs are white on black; dark glyphs (INVERT) black on white. */
			const char *on = (flags & CABLE_QR_TEXT_INVERT) ? "\x1b[107;30m" : "\x1b[40;97m";
			assert_memory_equal(p, on, strlen(on));
			p += strlen(on);
		}
		for (int col = 0; col < side; col++) {
			bool top, bottom, dt, db;
			int x = col - quiet, y = 2 * line - quiet;
			p += glyph(p, &top, &bottom);
			dt = cable_qr_symbol_dark(sym, x, y);
			db = cable_qr_symbol_dark(sym, x, y + 1);
			/* Default: glyphs are the light modules; INVERT: the dark ones. */
			assert_int_equal(top, (flags & CABLE_QR_TEXT_INVERT) ? dt : !dt);
			if (2 * line + 1 < side)
				assert_int_equal(bottom, (flags & CABLE_QR_TEXT_INVERT) ? db : !db);
			else
				assert_false(bottom);
		}
		if (flags & CABLE_QR_TEXT_ANSI) {
			assert_memory_equal(p, "\x1b[0m", 4);
			p += 4;
		}
		assert_int_equal(*p, '\n');
		p++;
	}
	assert_int_equal(lines, (side + 1) / 2);
	free(text);
}

static void
test_text(void **state)
{
	struct cable_qr_symbol *sym = NULL;

	(void)state;
	assert_int_equal(cable_qr_symbol_encode(chrome_url(), 0, &sym), 0);
	/* The finder pattern's corner is dark. */
	assert_true(cable_qr_symbol_dark(sym, 0, 0));
	assert_false(cable_qr_symbol_dark(sym, -1, 0));
	assert_false(cable_qr_symbol_dark(sym, sym->width, 0));
	check_text(sym, CABLE_QR_QUIET_ZONE, 0);   /* 45 rows: odd, exercises the last half line */
	check_text(sym, 3, CABLE_QR_TEXT_INVERT);  /* 43 rows */
	check_text(sym, 2, CABLE_QR_TEXT_ANSI);    /* 41 */
	check_text(sym, 0, CABLE_QR_TEXT_INVERT | CABLE_QR_TEXT_ANSI);
	cable_qr_symbol_free(&sym);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_png_structure(void **state)
{
	struct cable_qr_symbol *sym = NULL;
	uint8_t *png = NULL;
	size_t len, pos = 8, side;
	int scale = 3, quiet = CABLE_QR_QUIET_ZONE;

	(void)state;
	assert_int_equal(cable_qr_symbol_encode(chrome_url(), 0, &sym), 0);
	assert_int_equal(cable_qr_render_png(sym, quiet, scale, &png, &len), 0);
	assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
	side = (size_t)(sym->width + 2 * quiet) * (size_t)scale;
	/* Walk the chunks: lengths add up, IHDR first, IEND last, each CRC recomputed here with
	 * the branchy textbook loop (the library uses a branch-free one). */
	{
		const char *want[] = {"IHDR", "IDAT", "IEND"};
		for (int i = 0; i < 3; i++) {
			uint32_t n = get32(png + pos);
			uint32_t crc = 0xffffffffu;
			assert_memory_equal(png + pos + 4, want[i], 4);
			for (size_t k = 0; k < 4 + n; k++) {
				crc ^= png[pos + 4 + k];
				for (int b = 0; b < 8; b++)
					crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
			}
			assert_int_equal(~crc, get32(png + pos + 8 + n));
			if (i == 0) {
				assert_int_equal(get32(png + pos + 8), side);
				assert_int_equal(get32(png + pos + 12), side);
				assert_int_equal(png[pos + 16], 1);
			}
			if (i == 1) {
				/* Stored deflate: the pixels are readable in place. Check the top-left module
				 * (dark) and a quiet-zone pixel (light). */
				const uint8_t *z = png + pos + 8;
				size_t stride = 1 + (side + 7) / 8;
				const uint8_t *raw = z + 2 + 5; /* first block header */
				size_t y = (size_t)quiet * (size_t)scale, x = (size_t)quiet * (size_t)scale;
				assert_int_equal(z[0], 0x78);
				assert_int_equal(raw[0], 0); /* filter none */
				assert_int_equal(raw[1] & 0x80, 0x80); /* pixel (0,0) white */
				assert_int_equal(raw[y * stride + 1 + x / 8] & (0x80 >> (x % 8)), 0);
			}
			pos += 12 + n;
		}
		assert_int_equal(pos, len);
	}
	free(png);
	assert_int_equal(cable_qr_render_png(sym, quiet, 0, &png, &len), CABLE_ERR_ARG);
	assert_int_equal(cable_qr_render_png(sym, quiet, 33, &png, &len), CABLE_ERR_ARG);
	cable_qr_symbol_free(&sym);
}

static void
test_svg(void **state)
{
	struct cable_qr_symbol *sym = NULL;
	char *svg = NULL, want[64];
	size_t dark = 0, paths = 0;
	const char *p;

	(void)state;
	assert_int_equal(cable_qr_symbol_encode(chrome_url(), 0, &sym), 0);
	assert_int_equal(cable_qr_render_svg(sym, 4, &svg), 0);
	snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\"", sym->width + 8, sym->width + 8);
	assert_non_null(strstr(svg, want));
	for (int y = 0; y < sym->width; y++)
		for (int x = 0; x < sym->width; x++)
			dark += cable_qr_symbol_dark(sym, x, y);
	for (p = svg; (p = strstr(p, "h1v1h-1z")) != NULL; p++)
		paths++;
	assert_int_equal(paths, dark);
	/* The finder corner module at (0,0) sits at (4,4) with the quiet zone. */
	assert_non_null(strstr(svg, "M4 4h1v1h-1z"));
	assert_non_null(strstr(svg, "</svg>\n"));
	free(svg);
	cable_qr_symbol_free(&sym);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbol_version),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_png_structure),
		cmocka_unit_test(test_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
