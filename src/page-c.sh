#!/bin/sh
# page-c.sh PAGE: the status page PAGE (src/page.html) as C source on
# stdout: page_html, its bytes as one string, and page_csp, the
# Content-Security-Policy it is served with. The policy admits the page's
# one inline <style> and one inline <script> by their SHA-256 (each tag
# alone on its line, as the browser hashes the text between them), and
# fetches from the page's own origin only; anything else the page might
# be made to load is refused. Run by make; the page stays the file to edit.
set -eu
page=$1

# element NAME: the text of the page's <NAME> element, as the browser sees it.
element() {
	awk -v tag="$1" '
	$0 == "</" tag ">" { inside = 0 }
	inside { print }
	$0 == "<" tag ">" { inside = 1; printf "\n" }' "$page"
}

# hash NAME: 'sha256-BASE64' of the element's text.
hash() {
	element "$1" | sha256sum | awk '
	BEGIN {
		b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		hex = "0123456789abcdef"
	}
	{
		n = 0
		for (i = 1; i < 64; i += 2)
			v[n++] = (index(hex, substr($1, i, 1)) - 1) * 16 + \
			    index(hex, substr($1, i + 1, 1)) - 1
		out = ""
		for (i = 0; i < n; i += 3) {
			x = v[i] * 65536 + (i + 1 < n ? v[i + 1] * 256 : 0) + \
			    (i + 2 < n ? v[i + 2] : 0)
			out = out substr(b64, int(x / 262144) % 64 + 1, 1) \
			    substr(b64, int(x / 4096) % 64 + 1, 1)
			out = out (i + 1 < n ? substr(b64, int(x / 64) % 64 + 1, 1) : "=")
			out = out (i + 2 < n ? substr(b64, x % 64 + 1, 1) : "=")
		}
		printf "sha256-%s", out
	}'
}

for tag in style script; do
	if [ "$(grep -c "^<$tag>\$" "$page")" -ne 1 ] ||
	    [ "$(grep -c "^</$tag>\$" "$page")" -ne 1 ]; then
		echo "$0: $page needs one <$tag> and one </$tag>, each alone on a line" >&2
		exit 1
	fi
done

echo "/* Made from page.html by page-c.sh: edit page.html instead. */"
echo '#include "primed.h"'
echo
echo "const char page_html[] ="
# Each line a C string: backslashes and quotes escaped, and question
# marks, so that no "??" reads as a trigraph.
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' \
    -e 's/$/\\n"/' "$page"
echo ";"
echo "const size_t page_html_len = sizeof(page_html) - 1;"
printf "const char page_csp[] = \"default-src 'none'; "
printf "style-src '%s'; script-src '%s'; " "$(hash style)" "$(hash script)"
echo "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\";"
