//! The answers' header fields over real TCP, checked against the structured-field form of
//! draft-ietf-httpapi-ratelimit-headers (-08 and later): `RateLimit-Policy` is a list of
//! policy items, each a string naming the policy with integer parameters `q` (quota) and `w`
//! (window, seconds); `RateLimit` a list of items naming a policy with `r` (remaining) and
//! `t` (seconds until reset). `Retry-After` is whole seconds, rounded up.

mod common;

use std::time::Duration;

use common::{Answer, client, get_with, serve};
use http::{HeaderName, StatusCode};
use pacer_core::{ManualTimer, Quota};
use pacer_tower::server::{Global, HeaderKey, Headers, Limit, RateLimitLayer};

/// One item of an RFC 8941 list: a string and its parameters (integers only, as the draft's
/// parameters are).
#[derive(Debug, PartialEq, Eq)]
struct Item {
    name: String,
    params: Vec<(String, u64)>,
}

/// Parses an RFC 8941 list of string items with integer parameters, strictly: `None` for
/// anything the grammar does not allow.
fn parse_list(text: &str) -> Option<Vec<Item>> {
    let mut items = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        // sf-string: DQUOTE *chr DQUOTE, chr = unescaped / escaped.
        rest = rest.strip_prefix('"')?;
        let mut name = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    if escaped != '"' && escaped != '\\' {
                        return None;
                    }
                    name.push(escaped);
                }
                ' '..='~' => name.push(c),
                _ => return None,
            }
        };
        rest = &rest[end + 1..];
        let mut params = Vec::new();
        while let Some(after) = rest.strip_prefix(';') {
            let after = after.trim_start_matches(' ');
            // key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
            let key_len = after
                .find(|c: char| {
                    !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.*".contains(c))
                })
                .unwrap_or(after.len());
            let key = &after[..key_len];
            if key.is_empty() || !(key.as_bytes()[0].is_ascii_lowercase() || key.starts_with('*')) {
                return None;
            }
            let value = after[key_len..].strip_prefix('=')?;
            let digits = value
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(value.len());
            if digits == 0 || digits > 15 {
                return None; // sf-integer: at most 15 digits
            }
            params.push((key.to_owned(), value[..digits].parse().ok()?));
            rest = &value[digits..];
        }
        items.push(Item { name, params });
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Some(items);
        }
        rest = rest.strip_prefix(',')?;
    }
}

fn param(item: &Item, key: &str) -> Option<u64> {
    item.params.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The policies and states of an answer, checked against the draft's rules: every item of
/// `RateLimit` names a policy of `RateLimit-Policy`, each policy has `q` and each state `r`.
fn fields(answer: &Answer) -> (Vec<Item>, Vec<Item>) {
    let policy = parse_list(answer.header("ratelimit-policy").expect("RateLimit-Policy"))
        .expect("RateLimit-Policy is a structured-field list");
    let state = parse_list(answer.header("ratelimit").expect("RateLimit"))
        .expect("RateLimit is a structured-field list");
    for item in &policy {
        assert!(param(item, "q").is_some(), "q is required: {item:?}");
    }
    for item in &state {
        assert!(param(item, "r").is_some(), "r is required: {item:?}");
        assert!(
            policy.iter().any(|p| p.name == item.name),
            "{item:?} names a policy"
        );
    }
    (policy, state)
}

#[test]
fn the_parser_is_strict() {
    assert!(parse_list("\"a\";q=1;w=2, \"b\";q=3").is_some());
    for bad in [
        "a;q=1",
        "\"a\";Q=1",
        "\"a\";q=",
        "\"a\";q=-1",
        "\"a\" \"b\"",
        "\"a\";q=1,",
        "\"a",
    ] {
        assert!(parse_list(bad).is_none(), "{bad}");
    }
}

#[tokio::test]
async fn admitted_and_refused_answers_carry_the_draft_fields() {
    let timer = ManualTimer::new();
    let quota = Quota::per_second(5).unwrap().with_burst(5).unwrap();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(
            Limit::new(
                "per-key",
                HeaderKey::new(HeaderName::from_static("x-api-key")),
                quota,
                10,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    let key = [("x-api-key", "k")];

    let first = get_with(&http, address, "/", &key).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"per-key\";q=5;w=1")
    );
    assert_eq!(first.header("ratelimit"), Some("\"per-key\";r=4;t=1"));
    let (policy, state) = fields(&first);
    assert_eq!(
        policy,
        vec![Item {
            name: "per-key".into(),
            params: vec![("q".into(), 5), ("w".into(), 1)]
        }]
    );
    assert_eq!(param(&state[0], "r"), Some(4));
    assert!(first.header("retry-after").is_none());

    for remaining in (0..4).rev() {
        let answer = get_with(&http, address, "/", &key).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(param(&fields(&answer).1[0], "r"), Some(remaining));
    }
    // The burst is spent: the next cell is 200 ms away, the whole burst 1 s.
    let refused = get_with(&http, address, "/", &key).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("retry-after"), Some("1"));
    let (_, state) = fields(&refused);
    assert_eq!(
        (param(&state[0], "r"), param(&state[0], "t")),
        (Some(0), Some(1))
    );

    timer.advance(Duration::from_millis(200));
    assert_eq!(
        get_with(&http, address, "/", &key).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn retry_after_is_whole_seconds_rounded_up() {
    let timer = ManualTimer::new();
    // One request every 1.5 s.
    let quota = Quota::new(2, Duration::from_secs(3)).unwrap();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(Limit::new("all", Global, quota, 1).unwrap())
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );
    let refused = get_with(&http, address, "/", &[]).await;
    assert_eq!(refused.header("retry-after"), Some("2")); // 1.5 s
    assert_eq!(refused.header("ratelimit-policy"), Some("\"all\";q=2;w=3"));
    timer.advance(Duration::from_millis(600));
    let refused = get_with(&http, address, "/", &[]).await;
    assert_eq!(refused.header("retry-after"), Some("1")); // 0.9 s
    timer.advance(Duration::from_millis(899));
    let refused = get_with(&http, address, "/", &[]).await;
    assert_eq!(refused.header("retry-after"), Some("1")); // 1 ns
    timer.advance(Duration::from_millis(1));
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn several_limits_are_several_items_and_legacy_fields_are_an_option() {
    let timer = ManualTimer::new();
    let per_key = Limit::new(
        "per-key",
        HeaderKey::new(HeaderName::from_static("x-api-key")),
        Quota::per_second(2).unwrap().with_burst(2).unwrap(),
        10,
    )
    .unwrap();
    let global = Limit::new(
        "global",
        Global,
        Quota::per_minute(100).unwrap().with_burst(10).unwrap(),
        1,
    )
    .unwrap();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(per_key)
        .limit(global)
        .headers(Headers::Both)
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    let answer = get_with(&http, address, "/", &[("x-api-key", "k")]).await;
    assert_eq!(
        answer.header("ratelimit-policy"),
        Some("\"per-key\";q=2;w=1, \"global\";q=100;w=60")
    );
    assert_eq!(
        answer.header("ratelimit"),
        Some("\"per-key\";r=1;t=1, \"global\";r=9;t=1")
    );
    fields(&answer);
    // The legacy trio follows the limit with the fewest remaining.
    assert_eq!(answer.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(answer.header("x-ratelimit-remaining"), Some("1"));
    assert_eq!(answer.header("x-ratelimit-reset"), Some("1"));

    let layer = RateLimitLayer::builder(timer)
        .limit(Limit::new("all", Global, Quota::per_second(1).unwrap(), 1).unwrap())
        .headers(Headers::None)
        .build()
        .unwrap();
    let address = serve(layer).await;
    let ok = get_with(&http, address, "/", &[]).await;
    assert!(ok.header("ratelimit").is_none() && ok.header("x-ratelimit-limit").is_none());
    let refused = get_with(&http, address, "/", &[]).await;
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.header("ratelimit").is_none());
}
