// Package console is the operator console at /ui: server-rendered pages
// (html/template, one embedded stylesheet, no script) over what the admin
// API offers, for operators who find patterns by looking at the picture,
// as in figures 5 and 6 of the paper.
//
// # Pages
//
//	/ui/heatmap     platform lines per component per window (default: the
//	                last 24 h in 96 windows), learned bursts (windows where a
//	                published pattern matched) outlined; a cell opens
//	/ui/window      one window: lines per component at a finer resolution,
//	                the templates they come from, the detections, the lines
//	/ui/patterns    published patterns with their occurrences on a timeline;
//	/ui/pattern     one of them: its element sequence and occurrences
//	/ui/anomalies   residual anomalies with a sample line; /ui/anomaly one
//	/ui/sources     source health: last seen, silent sources
//	/ui/tenants     tenants and resources
//	/ui/catalogues  learn a proposal from a time range, review it
//	                (/ui/catalogue), edit and upload, publish
//
// The console reads and acts through [Source], which the server implements
// with the code of its admin API (reads of platform logs and of the
// detections stream, whose records name tenants, are audited under the
// signed-in operator's token id, one entry per read).
//
// # Bounds
//
// A page shows at most 64 component rows (the components with the most
// lines; the rest are summed into one "(other: N more components)" row),
// and reads at most a capped number of detections, anomalies or lines,
// the newest first wherever it lists the newest; a page whose read hit its
// cap says so ("Truncated: showing the newest N").
//
// # Security
//
// An operator signs in by pasting an operator token, checked exactly as the
// API checks a bearer token; tenant and ingest tokens are refused. The
// session is server-side (in memory: a restart signs everybody out) and
// found by the SHA-256 of a random 256-bit cookie value; the cookie is
// HttpOnly, SameSite=Strict, Path=/ui, Secure when the request came over
// TLS or the configured public origin ([Config].Origin) is https, and the
// session ends when the token expires (or after
// [Config].SessionTTL). Every form carries the session's CSRF token
// (compared in constant time) and every POST must come from the console's
// origin: an Origin header naming it (the request's own scheme and Host,
// or [Config].Origin when set, as behind a TLS-terminating proxy), or, since browsers send
// "Origin: null" for forms posted under Referrer-Policy: no-referrer,
// Sec-Fetch-Site: same-origin; the sign-in form's token is an HMAC of a
// nonce cookie, so it needs no session. Every response has a strict Content-Security-Policy
// (no inline script or style, no framing, forms to self only),
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. Without
// a session a page redirects to the sign-in page; bad input is a fixed
// message page with a 4xx status (a form over the body limit: 413).
package console
