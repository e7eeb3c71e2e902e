/* goquote: Go's %q and %+q (strconv.Quote, QuoteToASCII). */
#include "goquote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRuneInString does: returns
 * the rune and its length, or -1 and length 1 for an invalid byte. */
static long utf8_decode(const unsigned char *s, size_t *len)
{
	unsigned c = s[0];
	*len = 1;
	if (c < 0x80)
		return c;
	size_t n;
	long r, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		r = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		r = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		r = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		r = (r << 6) | (s[i] & 0x3f);
	}
	if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return -1;
	*len = n;
	return r;
}

/* Go's unicode.IsPrint, approximately: without Unicode's tables, the
 * non-ASCII runes taken as not printable are the C1 controls, the spaces
 * other than U+0020, the format characters in common use, surrogates,
 * private-use areas and non-characters. Unassigned code points are shown
 * as they are, where Go would escape them. */
static bool go_isprint(long r)
{
	if (r < 0x80)
		return r >= 0x20 && r < 0x7f;
	if (r < 0xa0 || r == 0xa0 || r == 0xad || r == 0x61c || r == 0x1680 || r == 0x180e)
		return false;
	if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
	    (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff)
		return false;
	if ((r >= 0xe000 && r <= 0xf8ff) || (r >= 0xfff9 && r <= 0xfffb) || (r & 0xfffe) == 0xfffe)
		return false;
	if (r >= 0xe0000 && r <= 0xe007f)
		return false;
	if (r >= 0xf0000)
		return false;
	return true;
}

typedef struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->n + len + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static char *sb_done(sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

static void quote_into(sbuf *b, const char *s, bool ascii_only)
{
	const unsigned char *u = (const unsigned char *)s;
	char tmp[16];
	sb_put(b, "\"", 1);
	while (*u) {
		size_t len;
		long r = utf8_decode(u, &len);
		if (r < 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *u);
			sb_put(b, tmp, 4);
		} else if (r == '"' || r == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)r;
			sb_put(b, tmp, 2);
		} else if (r < 0x80 ? go_isprint(r) : (!ascii_only && go_isprint(r))) {
			sb_put(b, (const char *)u, len);
		} else {
			const char *esc = NULL;
			switch (r) {
			case '\a': esc = "\\a"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			case '\v': esc = "\\v"; break;
			default: break;
			}
			if (esc)
				sb_put(b, esc, 2);
			else if (r < ' ' || r == 0x7f)
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\x%02lx", r));
			else if (r < 0x10000)
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\u%04lx", r));
			else
				sb_put(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\U%08lx", r));
		}
		u += len;
	}
	sb_put(b, "\"", 1);
}

char *go_quote(const char *s, bool ascii_only)
{
	sbuf b = {0};
	quote_into(&b, s, ascii_only);
	return sb_done(&b);
}

char *go_quote_list_ascii(const strv *sv)
{
	sbuf b = {0};
	sb_put(&b, "[", 1);
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			sb_put(&b, " ", 1);
		quote_into(&b, sv->v[i], true);
	}
	sb_put(&b, "]", 1);
	return sb_done(&b);
}

