//! Reading server feedback: table tests of real-world header forms (`Retry-After`, the IETF
//! `RateLimit-Policy` / `RateLimit` fields, the legacy `X-RateLimit-*` headers), every
//! refusal, and property tests that no input, however hostile, panics or half-applies.

use std::time::Duration;

use pacer_core::{Feedback, FeedbackError, Policy};
use proptest::prelude::*;

/// 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;

fn read(status: u16, headers: &[(&str, &str)]) -> Result<Feedback, FeedbackError> {
    Feedback::read(status, headers.iter().copied(), NOW)
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

fn policy(quota: u64, window: Option<u64>) -> Option<Policy> {
    Some(Policy {
        quota,
        window: window.map(Duration::from_secs),
    })
}

#[test]
fn retry_after_pauses_a_429_or_a_503_only() {
    for status in [429, 503] {
        let f = read(status, &[("Retry-After", "120")]).unwrap();
        assert!(f.throttled);
        assert_eq!(f.pause, secs(120));
    }
    // On other statuses it is checked but asks for no pause (RFC 9110 gives it other meanings
    // there, such as a redirect's delay).
    let f = read(301, &[("Retry-After", "120")]).unwrap();
    assert!(!f.throttled);
    assert_eq!(f.pause, None);
    assert_eq!(
        read(200, &[("Retry-After", "soon")]),
        Err(FeedbackError::BadDate {
            field: "retry-after"
        })
    );
    // A zero wait is no pause; a bare 429 is throttled with no pause.
    assert_eq!(read(429, &[("retry-after", "0")]).unwrap().pause, None);
    let bare = read(429, &[]).unwrap();
    assert!(bare.throttled && bare.pause.is_none() && bare.policy.is_none());
}

#[test]
fn retry_after_dates_in_all_three_forms() {
    // 2027-01-15T08:00:00Z is a Friday; ask for 08:01:30, 90 s later.
    for date in [
        "Fri, 15 Jan 2027 08:01:30 GMT",
        "Friday, 15-Jan-27 08:01:30 GMT",
        "Fri Jan 15 08:01:30 2027",
    ] {
        let f = read(429, &[("Retry-After", date)]).unwrap();
        assert_eq!(f.pause, secs(90), "{date}");
    }
    assert_eq!(
        read(429, &[("Retry-After", "Fri, 15 Jan 2027 07:59:59 GMT")]),
        Err(FeedbackError::InPast {
            field: "retry-after"
        })
    );
    assert_eq!(
        read(429, &[("Retry-After", "Fri, 15 Jan 2027 08:00:00 GMT")])
            .unwrap()
            .pause,
        None
    );
}

#[test]
fn retry_after_refusals() {
    let cases: &[(&str, FeedbackError)] = &[
        (
            "",
            FeedbackError::Empty {
                field: "retry-after",
            },
        ),
        (
            "-5",
            FeedbackError::Negative {
                field: "retry-after",
            },
        ),
        (
            "1.5",
            FeedbackError::NotANumber {
                field: "retry-after",
            },
        ),
        (
            "0x10",
            FeedbackError::NotANumber {
                field: "retry-after",
            },
        ),
        (
            "99999999999999999999",
            FeedbackError::Overflow {
                field: "retry-after",
            },
        ),
        (
            "tomorrow",
            FeedbackError::BadDate {
                field: "retry-after",
            },
        ),
        (
            "Fri, 15 Jan 2027 08:01:30 UTC",
            FeedbackError::BadDate {
                field: "retry-after",
            },
        ),
        (
            "3601",
            FeedbackError::TooLong {
                field: "retry-after",
                seconds: 3601,
                max: Feedback::DEFAULT_MAX_PAUSE,
            },
        ),
    ];
    for (value, err) in cases {
        assert_eq!(read(429, &[("Retry-After", value)]), Err(*err), "{value:?}");
    }
    assert_eq!(
        read(429, &[("Retry-After", "3600")]).unwrap().pause,
        secs(3600)
    );
    let longer = Feedback::read_within(
        429,
        [("Retry-After", "7200")],
        NOW,
        Duration::from_secs(7200),
    );
    assert_eq!(longer.unwrap().pause, secs(7200));
}

#[test]
fn duplicates_must_agree() {
    let same = read(429, &[("Retry-After", "5"), ("retry-after", " 5 ")]).unwrap();
    assert_eq!(same.pause, secs(5));
    assert_eq!(
        read(429, &[("Retry-After", "5"), ("Retry-After", "6")]),
        Err(FeedbackError::Conflict {
            field: "retry-after"
        })
    );
    assert_eq!(
        read(
            200,
            &[
                ("X-RateLimit-Remaining", "5"),
                ("x-ratelimit-remaining", "6")
            ]
        ),
        Err(FeedbackError::Conflict {
            field: "x-ratelimit-remaining"
        })
    );
    assert_eq!(
        read(200, &[("X-RateLimit-Limit", "5"), ("RateLimit-Limit", "6")]),
        Err(FeedbackError::Conflict {
            field: "x-ratelimit-limit"
        })
    );
    // A policy stated twice, on one line or two, must state the same values.
    assert!(read(200, &[("RateLimit-Policy", r#""a";q=1;w=1, "a";q=1;w=1"#)]).is_ok());
    assert_eq!(
        read(
            200,
            &[
                ("RateLimit-Policy", r#""a";q=1;w=1"#),
                ("RateLimit-Policy", r#"a;q=2;w=1"#)
            ]
        ),
        Err(FeedbackError::Conflict {
            field: "ratelimit-policy"
        })
    );
    assert_eq!(
        read(200, &[("RateLimit", r#""a";r=1, "a";r=2"#)]),
        Err(FeedbackError::Conflict { field: "ratelimit" })
    );
    // Different partition keys are different policies.
    assert!(
        read(
            200,
            &[("RateLimit", r#""a";r=1;pk=:AA==:, "a";r=2;pk=:AQ==:"#)]
        )
        .is_ok()
    );
}

#[test]
fn ietf_fields_of_the_draft() {
    // The draft's own examples.
    let f = read(200, &[("RateLimit-Policy", r#""default";q=100;w=10"#)]).unwrap();
    assert_eq!(f.policy, policy(100, Some(10)));
    let f = read(
        200,
        &[(
            "RateLimit-Policy",
            r#""permin";q=50;w=60,"perhr";q=1000;w=3600"#,
        )],
    )
    .unwrap();
    assert_eq!(
        f.policy,
        policy(1000, Some(3600)),
        "1000/h is tighter than 50/min (3000/h)"
    );
    let f = read(
        200,
        &[(
            "RateLimit-Policy",
            r#""peruser";q=100;w=60;pk=:cHsdsRa894==:"#,
        )],
    )
    .unwrap();
    assert_eq!(f.policy, policy(100, Some(60)));
    // A quota of bytes says nothing about requests per second.
    let f = read(
        200,
        &[(
            "RateLimit-Policy",
            r#""peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:"#,
        )],
    )
    .unwrap();
    assert_eq!(f.policy, None);
    let f = read(200, &[("RateLimit", r#""default";r=50;t=30"#)]).unwrap();
    assert_eq!((f.remaining, f.reset, f.pause), (Some(50), secs(30), None));
    let f = read(
        200,
        &[("RateLimit", r#""default";r=999;pk=:dHJpYWwxMjEzMjM=:"#)],
    )
    .unwrap();
    assert_eq!((f.remaining, f.reset), (Some(999), None));
}

#[test]
fn ietf_fields_in_the_forms_servers_send() {
    // Tokens for names, vendor parameters, a policy without a window, lists split over lines.
    let f = read(
        200,
        &[
            ("ratelimit-policy", "burst;q=100;w=60;acme-burst=20"),
            ("RATELIMIT-POLICY", r#""daily";q=1000;w=86400;comment="ok""#),
            ("RateLimit", r#"burst;r=0;t=12, "daily";r=900;t=40000"#),
        ],
    )
    .unwrap();
    assert_eq!(f.policy, policy(1000, Some(86_400)));
    assert_eq!((f.remaining, f.reset), (Some(0), secs(12)));
    assert_eq!(f.pause, secs(12), "nothing remains of burst for 12 s");
    // A windowed policy beats one without a window; among unwindowed, the smaller.
    let f = read(200, &[("RateLimit-Policy", r#""a";q=5, "b";q=50;w=1"#)]).unwrap();
    assert_eq!(f.policy, policy(50, Some(1)));
    let f = read(200, &[("RateLimit-Policy", r#""a";q=5, "b";q=3"#)]).unwrap();
    assert_eq!(f.policy, policy(3, None));
    // Nothing remaining without a reset cannot say how long to wait.
    assert_eq!(
        read(200, &[("RateLimit", r#""a";r=0"#)]).unwrap().pause,
        None
    );
    // Several exhausted policies: the longest reset.
    let f = read(
        429,
        &[
            ("RateLimit", r#""a";r=0;t=5, "b";r=0;t=9"#),
            ("Retry-After", "7"),
        ],
    )
    .unwrap();
    assert_eq!(f.pause, secs(9));
    assert_eq!(f.remaining, Some(0));
    assert_eq!(
        f.reset,
        secs(9),
        "the longest reset among the least remaining"
    );
    // The policy that ran out, matched by name and partition key: the burst policy above,
    // which the tighter daily policy is not.
    let f = read(
        200,
        &[
            ("ratelimit-policy", "burst;q=100;w=60"),
            ("RATELIMIT-POLICY", r#""daily";q=1000;w=86400"#),
            ("RateLimit", r#""burst";r=0;t=12, daily;r=900;t=40000"#),
        ],
    )
    .unwrap();
    assert_eq!(f.exhausted, policy(100, Some(60)));
    // Not set when none ran out, when two did, when the policy is not stated, when it is
    // stated for another partition key, or counted in other units.
    let exhausted = |headers: &[(&str, &str)]| read(200, headers).unwrap().exhausted;
    assert_eq!(
        exhausted(&[
            ("RateLimit-Policy", "a;q=5;w=1"),
            ("RateLimit", "a;r=1;t=1")
        ]),
        None
    );
    assert_eq!(
        exhausted(&[
            ("RateLimit-Policy", "a;q=5;w=1, b;q=9;w=2"),
            ("RateLimit", "a;r=0;t=1, b;r=0;t=2"),
        ]),
        None
    );
    assert_eq!(exhausted(&[("RateLimit", "a;r=0;t=1")]), None);
    assert_eq!(
        exhausted(&[
            ("RateLimit-Policy", "a;q=5;w=1;pk=:AQ==:"),
            ("RateLimit", "a;r=0;t=1;pk=:Ag==:"),
        ]),
        None
    );
    assert_eq!(
        exhausted(&[
            ("RateLimit-Policy", r#"a;q=5;w=1;qu="content-bytes""#),
            ("RateLimit", "a;r=0;t=1"),
        ]),
        None
    );
    // A reset of zero asks for no pause and names nothing; the other one does.
    assert_eq!(
        exhausted(&[
            ("RateLimit-Policy", "a;q=5;w=1, b;q=9;w=2"),
            ("RateLimit", "a;r=0;t=0, b;r=0;t=2"),
        ]),
        policy(9, Some(2))
    );
    // Whitespace around a value (which HTTP trims) is no error.
    let f = read(200, &[("RateLimit", "\t p;r=3 \t")]).unwrap();
    assert_eq!(f.remaining, Some(3));
    // An empty field line is an empty list.
    assert_eq!(
        read(200, &[("RateLimit", "")]).unwrap(),
        read(200, &[]).unwrap()
    );
}

#[test]
fn ietf_refusals() {
    let policy_err = |value: &str| read(200, &[("RateLimit-Policy", value)]).unwrap_err();
    let limit_err = |value: &str| read(200, &[("RateLimit", value)]).unwrap_err();
    let p = "ratelimit-policy";
    let r = "ratelimit";
    assert_eq!(
        policy_err(r#""a";w=1"#),
        FeedbackError::MissingParameter {
            field: p,
            parameter: "q"
        }
    );
    assert_eq!(
        policy_err(r#""a";q=-1"#),
        FeedbackError::Negative { field: p }
    );
    assert_eq!(
        policy_err(r#""a";q=1.5"#),
        FeedbackError::BadParameter {
            field: p,
            parameter: "q"
        }
    );
    assert_eq!(
        policy_err(r#""a";q="1""#),
        FeedbackError::BadParameter {
            field: p,
            parameter: "q"
        }
    );
    assert_eq!(
        policy_err(r#""a";q=1;w=0"#),
        FeedbackError::BadParameter {
            field: p,
            parameter: "w"
        }
    );
    assert_eq!(
        policy_err(r#""a";q=1;qu=requests"#),
        FeedbackError::BadParameter {
            field: p,
            parameter: "qu"
        }
    );
    assert_eq!(
        policy_err(r#""a";q=1;pk="k""#),
        FeedbackError::BadParameter {
            field: p,
            parameter: "pk"
        }
    );
    assert_eq!(policy_err("1;q=1"), FeedbackError::BadName { field: p });
    assert_eq!(policy_err("(a b);q=1"), FeedbackError::BadName { field: p });
    assert_eq!(
        policy_err(r#""a";q=1,"#),
        FeedbackError::BadSyntax { field: p, at: 8 }
    );
    assert_eq!(
        policy_err("q=100, w=60"),
        FeedbackError::BadSyntax { field: p, at: 1 }
    );
    assert_eq!(
        limit_err(r#""a";t=1"#),
        FeedbackError::MissingParameter {
            field: r,
            parameter: "r"
        }
    );
    assert_eq!(
        limit_err(r#""a";r=1;t=-1"#),
        FeedbackError::Negative { field: r }
    );
    assert_eq!(
        read(200, &[("RateLimit", r#""a";r=0;t=3601"#)]),
        Err(FeedbackError::TooLong {
            field: r,
            seconds: 3601,
            max: Feedback::DEFAULT_MAX_PAUSE
        })
    );
    // A long reset is fine while quota remains: it asks for no pause.
    assert_eq!(
        read(200, &[("RateLimit", r#""a";r=1;t=86400"#)])
            .unwrap()
            .reset,
        secs(86_400)
    );
    // The draft-07 dictionary form is not this draft's.
    assert!(matches!(
        limit_err("limit=100, remaining=50, reset=5"),
        FeedbackError::BadSyntax { .. }
    ));
    let many: String = (0..17)
        .map(|i| format!("\"p{i}\";r=1, "))
        .collect::<String>()
        + "\"last\";r=1";
    assert_eq!(
        limit_err(&many),
        FeedbackError::TooManyPolicies { field: r }
    );
}

#[test]
fn legacy_headers_as_github_twitter_reddit_and_discord_send_them() {
    // GitHub: epoch reset.
    let reset = NOW + 1800;
    let f = read(
        200,
        &[
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", "4999"),
            ("X-RateLimit-Reset", &reset.to_string()),
        ],
    )
    .unwrap();
    assert_eq!(f.policy, policy(5000, None));
    assert_eq!(
        (f.remaining, f.reset, f.pause),
        (Some(4999), secs(1800), None)
    );
    // Exhausted with an epoch reset: pause until it.
    let f = read(
        403,
        &[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &(NOW + 42).to_string()),
        ],
    )
    .unwrap();
    assert_eq!(f.pause, secs(42));
    assert!(!f.throttled);
    // Reddit: decimals, delta-seconds.
    let f = read(
        200,
        &[
            ("x-ratelimit-remaining", "0.0"),
            ("x-ratelimit-used", "600"),
            ("x-ratelimit-reset", "37"),
        ],
    )
    .unwrap();
    assert_eq!((f.remaining, f.pause), (Some(0), secs(37)));
    // Discord: an epoch with milliseconds, rounded up.
    let value = format!("{}.123", NOW + 2);
    let f = read(
        429,
        &[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &value),
        ],
    )
    .unwrap();
    assert_eq!(f.pause, Some(Duration::from_millis(2123)));
    // express-rate-limit's draft-6 names, without X-.
    let f = read(
        200,
        &[
            ("RateLimit-Limit", "100"),
            ("RateLimit-Remaining", "7"),
            ("RateLimit-Reset", "9"),
        ],
    )
    .unwrap();
    assert_eq!(
        (f.policy, f.remaining, f.reset),
        (policy(100, None), Some(7), secs(9))
    );
    // The IETF fields win over the legacy ones where both are given.
    let f = read(
        200,
        &[
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", "10"),
            ("RateLimit-Policy", "p;q=100;w=60"),
            ("RateLimit", "p;r=3;t=20"),
        ],
    )
    .unwrap();
    assert_eq!(
        (f.policy, f.remaining, f.reset),
        (policy(100, Some(60)), Some(3), secs(20))
    );
}

#[test]
fn legacy_reset_epoch_or_delta_rule() {
    let reset =
        |value: u64| read(200, &[("X-RateLimit-Reset", &value.to_string())]).map(|f| f.reset);
    let year = 365 * 86_400;
    // Below now minus one year: delta-seconds, however large.
    assert_eq!(reset(60), Ok(secs(60)));
    assert_eq!(reset(NOW - year - 1), Ok(secs(NOW - year - 1)));
    // From now minus one year: an epoch instant, refused when in the past.
    let past = FeedbackError::InPast {
        field: "x-ratelimit-reset",
    };
    assert_eq!(reset(NOW - year), Err(past));
    assert_eq!(reset(NOW - 1), Err(past));
    assert_eq!(reset(NOW), Ok(secs(0)));
    assert_eq!(reset(NOW + 5), Ok(secs(5)));
    // A huge delta (or a stale epoch) is refused only when it becomes a pause.
    assert_eq!(
        read(
            200,
            &[
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "86400")
            ]
        ),
        Err(FeedbackError::TooLong {
            field: "x-ratelimit-reset",
            seconds: 86_400,
            max: Feedback::DEFAULT_MAX_PAUSE
        })
    );
}

/// The largest reset there is: an epoch instant at the end of `u64` seconds, with a fraction
/// (rounded up to the next second in the error).
#[test]
fn the_longest_representable_reset_is_refused_as_too_long() {
    let f = read(
        200,
        &[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "18446744073709551615.5"),
        ],
    );
    assert_eq!(
        f,
        Err(FeedbackError::TooLong {
            field: "x-ratelimit-reset",
            seconds: u64::MAX - NOW + 1,
            max: Feedback::DEFAULT_MAX_PAUSE
        })
    );
}

#[test]
fn legacy_refusals() {
    for (value, err) in [
        (
            "-1",
            FeedbackError::Negative {
                field: "x-ratelimit-remaining",
            },
        ),
        (
            "ten",
            FeedbackError::NotANumber {
                field: "x-ratelimit-remaining",
            },
        ),
        (
            "1e3",
            FeedbackError::NotANumber {
                field: "x-ratelimit-remaining",
            },
        ),
        (
            "",
            FeedbackError::Empty {
                field: "x-ratelimit-remaining",
            },
        ),
        (
            "18446744073709551616",
            FeedbackError::Overflow {
                field: "x-ratelimit-remaining",
            },
        ),
    ] {
        assert_eq!(
            read(200, &[("X-RateLimit-Remaining", value)]),
            Err(err),
            "{value:?}"
        );
    }
}

#[test]
fn errors_say_what_and_where() {
    let err = read(200, &[("RateLimit-Policy", r#""a";q=1;w=0"#)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ratelimit-policy: parameter `w` has an invalid value"
    );
    let err = read(429, &[("Retry-After", "7200")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "retry-after: a pause of 7200 s is longer than the maximum of 3600 s"
    );
}

#[test]
fn other_headers_and_bytes_are_ignored() {
    let f = Feedback::read(
        200,
        [
            (&b"Content-Type"[..], &b"\xff\xfe"[..]),
            (b"x-ratelimit-used", b"garbage"),
        ],
        NOW,
    )
    .unwrap();
    assert_eq!(
        f,
        Feedback::read(200, std::iter::empty::<(&str, &str)>(), NOW).unwrap()
    );
}

/// Names the parser reads, so that random values reach every path.
const NAMES: [&str; 7] = [
    "Retry-After",
    "RateLimit-Policy",
    "RateLimit",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "ratelimit-reset",
];

/// Values built from the pieces of real ones, so that the property tests also explore the
/// near misses, not only noise.
fn near_miss() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"\""[..]),
        Just(&b";"[..]),
        Just(&b"="[..]),
        Just(&b","[..]),
        Just(&b" "[..]),
        Just(&b"q"[..]),
        Just(&b"w"[..]),
        Just(&b"r"[..]),
        Just(&b"t"[..]),
        Just(&b"pk=:AA==:"[..]),
        Just(&b"-"[..]),
        Just(&b"0"[..]),
        Just(&b"999999999999999"[..]),
        Just(&b"18446744073709551615"[..]),
        Just(&b".5"[..]),
        Just(&b"1.5"[..]),
        Just(&b"Sun, 06 Nov 1994 08:49:37 GMT"[..]),
        Just(&b"Fri Jan 15 08:01:30 2027"[..]),
        Just(&b"Friday, 15-Jan-27 08:01:30 GMT"[..]),
        Just(&b"\\"[..]),
        Just(&b"("[..]),
        Just(&b")"[..]),
        Just(&b"\xff"[..]),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..40), near_miss()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// No bytes panic, and a response with a bad header applies nothing: the answer is an
    /// error, and a pause, when given, is within the maximum.
    #[test]
    fn arbitrary_bytes_never_panic(
        status in prop_oneof![Just(200u16), Just(429), Just(503), any::<u16>()],
        headers in prop::collection::vec((0..NAMES.len(), value()), 0..6),
        now in prop_oneof![Just(NOW), any::<u64>()],
        max in 0u64..10_000,
    ) {
        let pairs = headers.iter().map(|(n, v)| (NAMES[*n].as_bytes(), v.as_slice()));
        if let Ok(f) = Feedback::read_within(status, pairs, now, Duration::from_secs(max)) {
            prop_assert!(f.pause.is_none_or(|p| p <= Duration::from_secs(max) && !p.is_zero()));
            prop_assert_eq!(f.throttled, status == 429 || status == 503);
        }
        for (_, v) in &headers {
            let _ = Feedback::retry_after(v, now, Duration::MAX);
        }
    }

    /// Arbitrary names and values, including names that differ from known ones only by case.
    #[test]
    fn arbitrary_names_never_panic(
        headers in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..20), value()), 0..6),
        now in any::<u64>(),
    ) {
        let _ = Feedback::read(429, headers.iter().map(|(n, v)| (n, v)), now);
    }

    /// An RFC 850 date's two-digit year is placed from the clock's year, whatever the clock:
    /// no overflow, no loop that grows with the clock, and a clock from 1977 to 2076 places
    /// `27` in 2027.
    #[test]
    fn rfc850_dates_with_any_clock(now in prop_oneof![0u64..5_000_000_000, any::<u64>()]) {
        let got = Feedback::retry_after("Friday, 15-Jan-27 08:01:30 GMT", now, Duration::MAX);
        let at = 1_800_000_090; // 2027-01-15T08:01:30Z
        if now < 220_924_800 {
            // Before 1977, 2027 is more than 50 years ahead: "27" is 1927, and 15 January
            // 1927 was a Saturday.
            prop_assert_eq!(got, Err(FeedbackError::BadDate { field: "retry-after" }));
        } else if now <= at {
            prop_assert_eq!(got, Ok(Duration::from_secs(at - now)));
        } else if now < 3_376_684_800 {
            // Until 2076, "27" is 2027, in the past.
            prop_assert_eq!(got, Err(FeedbackError::InPast { field: "retry-after" }));
        } else if now < 6_532_358_400 {
            // From 2077 to 2176 it is 2127, and 15 January 2127 is a Wednesday.
            prop_assert_eq!(got, Err(FeedbackError::BadDate { field: "retry-after" }));
        } else if let Ok(wait) = got {
            // Later, a year ending in 27 at most 50 years ahead.
            prop_assert!(wait.as_secs() < 51 * 366 * 86_400, "{:?}", wait);
        }
    }

    /// Every delay-seconds value within the maximum is read exactly, whatever whitespace
    /// surrounds it; above it, refused.
    #[test]
    fn delay_seconds_round_trip(s in 0u64..100_000, pad in "[ \t]{0,3}") {
        let value = format!("{pad}{s}{pad}");
        let got = Feedback::retry_after(&value, NOW, Feedback::DEFAULT_MAX_PAUSE);
        if s <= 3600 {
            prop_assert_eq!(got, Ok(Duration::from_secs(s)));
        } else {
            let too_long = matches!(got, Err(FeedbackError::TooLong { .. }));
            prop_assert!(too_long);
        }
    }

    /// An IMF-fixdate of any second from 1970 to 9999 reads back as that second.
    #[test]
    fn imf_fixdates_round_trip(at in 0u64..253_402_300_800, ahead in 0u64..3600) {
        let date = imf_fixdate(at);
        let now = at - ahead.min(at);
        prop_assert_eq!(
            Feedback::retry_after(&date, now, Duration::MAX),
            Ok(Duration::from_secs(at - now)),
            "{}", date
        );
    }
}

/// Formats `unix` seconds as an IMF-fixdate, independently of the parser: by counting days
/// through the calendar one year and one month at a time.
fn imf_fixdate(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let leap = |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let mut days = unix / 86_400;
    let weekday = DAYS[(days % 7) as usize];
    let mut year = 1970;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    let s = unix % 86_400;
    format!(
        "{weekday}, {:02} {} {year} {:02}:{:02}:{:02} GMT",
        days + 1,
        MONTHS[month],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}
