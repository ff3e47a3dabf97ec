// Package pattern is the CloudWatch Logs filter pattern language, as metric
// filters, subscription filters, FilterLogEvents and TestMetricFilter use it.
//
// A pattern is compiled once and then matched against log event messages:
//
//	p, err := pattern.Compile(`{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`)
//	if err != nil { ... }          // a *SyntaxError: Column and why, for InvalidParameterException
//	if p.Match(msg) { ... }        // msg is the message's bytes; no allocation
//
// Metric filters take their value and dimensions from the matched event
// through references — $.path for JSON patterns, $name or $N for
// space-delimited ones:
//
//	r, err := p.Ref("$.requestParameters.durationSeconds")
//	v := r.Lookup(msg)            // v.Kind: Missing, Null, String, Number, ...
//	f, ok := v.Float()            // numbers and numeric strings
//
// TestMetricFilter's extractedValues come from Extract.
//
// # The language
//
// The first non-blank character decides the form (Kind):
//
//   - empty or blank: every message matches;
//   - % — one regular expression, the whole pattern: %ERROR|WARN%;
//   - { — JSON: conditions on selectors joined by && and || (&& binds
//     tighter), with parentheses: { $.a.b[0] = "x" || $.c > 5 }. Operators
//     = != < <= > >=, IS NULL, IS TRUE, IS FALSE, NOT EXISTS; values are
//     numbers, quoted or bare strings with a leading/trailing * wildcard,
//   - alone, or %regex%. Selectors: .name, .['any name'], [n], and one
//     wildcard .* or [*] per selector (three per pattern);
//   - [ — space-delimited: [ip, user, ..., status = 4* || status = 5*, bytes > 1000];
//   - anything else — terms: words and "quoted phrases" that must all
//     appear, -terms that must not, ?terms of which one must (ignored when
//     mixed with the others). Matching is a case-sensitive substring search.
//
// Limits: 1024 characters, two regular expressions, three wildcard selectors.
//
// # Semantics where AWS documents nothing
//
// The conformance tables in testdata/ are the specification: the reference
// cases, the behaviour of live AWS (testdata/aws-observed.jsonl, from
// recorded TestMetricFilter calls), cairn's own cases and the CIS pack. In
// short:
//
//   - A JSON pattern matches only a message that is exactly one valid JSON
//     object (RFC 8259, nesting up to 1000). A duplicate key replaces the
//     earlier one, as in Jackson — except among the elements a wildcard
//     ranges over, where each occurrence counts (a deliberate simplification).
//   - JSON numbers compare with numbers exactly (integers at any length;
//     other numbers as the double they denote, so 1e309 compares with
//     nothing); strings compare by text, also against a number written in the
//     pattern ("1" = 1, "01" != 1); < > <= >= apply to JSON numbers only.
//     Where a number meets a string, a wildcard or a regex, its text is Java's
//     rendering of the double ("1.0"), as on AWS.
//   - Booleans, null, objects and arrays satisfy no comparison, not even !=;
//     a missing field satisfies none either: only NOT EXISTS matches it.
//   - A wildcard condition holds if some element satisfies it; != holds if
//     the part before the wildcard exists and no element is equal.
//   - Regular expressions use AWS's alphabet (no parentheses, ASCII only)
//     and run on Go's RE2, linear in the input; '.', '$' and {,n} keep their
//     Java meaning.
//   - Space-delimited: the last field takes the rest of the line when more
//     tokens follow; fields after an ellipsis take the last tokens.
//
// # How JSON matching is fast
//
// Before scanning, a prefilter checks literals the pattern needs (for the
// seed pattern, "ConsoleLogin" and "Failed authentication") with
// bytes.Contains; most messages end there. Otherwise one validating pass
// reads the message, following only the paths the selectors name and
// skipping the rest. See jsonmatch.go and docs/benchmarks.md.
package pattern
