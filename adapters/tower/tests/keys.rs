//! Key extractors over real TCP: spoofed and malformed `X-Forwarded-For`, `Forwarded`,
//! `X-Real-IP`, IPv6 prefixes, the peer address from distinct local addresses, and the
//! answer to a key that cannot be read.

mod common;

use std::net::IpAddr;

use common::{client, get_with, serve};
use http::StatusCode;
use pacer_core::{ManualTimer, Quota};
use pacer_tower::server::{
    ClientIp, HeaderKey, IpPrefix, Key, Limit, PeerIp, RateLimitLayer, Unreadable,
};

/// One request per minute per key: a second request of a key is refused, a first is not.
fn one_per_minute() -> Quota {
    Quota::per_minute(1).unwrap()
}

async fn server(limit: Limit) -> std::net::SocketAddr {
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(limit)
        .build()
        .unwrap();
    serve(layer).await
}

#[tokio::test]
async fn spoofed_x_forwarded_for_entries_do_not_change_the_key() {
    let address = server(
        Limit::new(
            "per-client",
            ClientIp::x_forwarded_for(1),
            one_per_minute(),
            100,
        )
        .unwrap(),
    )
    .await;
    let http = client(None);
    let first = get_with(&http, address, "/", &[("x-forwarded-for", "198.51.100.7")]).await;
    assert_eq!(first.status, StatusCode::OK);
    // The client prepends whatever it likes; the proxy's entry on the right is what counts.
    for spoof in ["1.1.1.1", "10.0.0.1, 10.0.0.2", "not-an-ip", "[::1]:80", ""] {
        let header = format!("{spoof}, 198.51.100.7");
        let answer = get_with(&http, address, "/", &[("x-forwarded-for", &header)]).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{header}");
    }
    // With a port, it is the same client; a separate header line is read as one list.
    let answer = get_with(
        &http,
        address,
        "/",
        &[("x-forwarded-for", "198.51.100.7:4242")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let answer = get_with(
        &http,
        address,
        "/",
        &[
            ("x-forwarded-for", "5.5.5.5"),
            ("x-forwarded-for", "198.51.100.7"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client is not affected.
    let other = get_with(&http, address, "/", &[("x-forwarded-for", "198.51.100.8")]).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_x_forwarded_for_is_a_bad_request_never_a_shared_or_spoofed_key() {
    let address = server(
        Limit::new(
            "per-client",
            ClientIp::x_forwarded_for(2),
            one_per_minute(),
            100,
        )
        .unwrap(),
    )
    .await;
    let http = client(None);
    for header in [
        "garbage",                    // one hop where two are trusted
        "198.51.100.7",               // too few hops: the client may have written it
        "198.51.100.7, 10.0.0.1:",    // an empty port
        "198.51.100.7, 300.1.1.1",    // not an address
        "198.51.100.7, unknown",      // an obfuscated proxy entry
        "198.51.100.7,,10.0.0.1",     // an empty entry in the trusted part
        "198.51.100.7, [2001:db8::1", // an open bracket
    ] {
        let answer = get_with(&http, address, "/", &[("x-forwarded-for", header)]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{header:?}");
    }
    let answer = get_with(&http, address, "/", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "no header");
    // Two trusted hops: the second from the right names the client, however the left looks.
    let header = "spoofed, 198.51.100.7, [2001:db8::9]:443";
    let answer = get_with(&http, address, "/", &[("x-forwarded-for", header)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let header = "other, 198.51.100.7:1, 10.0.0.1";
    let answer = get_with(&http, address, "/", &[("x-forwarded-for", header)]).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forwarded_and_x_real_ip() {
    let address =
        server(Limit::new("per-client", ClientIp::forwarded(1), one_per_minute(), 100).unwrap())
            .await;
    let http = client(None);
    let forwarded = |value: &'static str| [("forwarded", value)];
    let a = get_with(
        &http,
        address,
        "/",
        &forwarded("for=\"[2001:db8::1]:4711\";proto=https"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let b = get_with(
        &http,
        address,
        "/",
        &forwarded("for=6.6.6.6, for=\"[2001:db8::2]\""),
    )
    .await;
    assert_eq!(b.status, StatusCode::TOO_MANY_REQUESTS, "the same /64");
    let c = get_with(&http, address, "/", &forwarded("for=_hidden")).await;
    assert_eq!(c.status, StatusCode::BAD_REQUEST);

    let address =
        server(Limit::new("per-client", ClientIp::x_real_ip(), one_per_minute(), 100).unwrap())
            .await;
    let a = get_with(&http, address, "/", &[("x-real-ip", "192.0.2.1:5000")]).await;
    let b = get_with(&http, address, "/", &[("x-real-ip", "192.0.2.1")]).await;
    let c = get_with(
        &http,
        address,
        "/",
        &[("x-real-ip", "192.0.2.1, 192.0.2.2")],
    )
    .await;
    assert_eq!(
        (a.status, b.status, c.status),
        (
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::BAD_REQUEST
        )
    );
}

#[tokio::test]
async fn ipv6_clients_are_keyed_by_prefix() {
    let http = client(None);
    // /64 by default: one host picking addresses in its /64 is one client.
    let address = server(
        Limit::new(
            "per-client",
            ClientIp::x_forwarded_for(1),
            one_per_minute(),
            100,
        )
        .unwrap(),
    )
    .await;
    let xff = |value: &'static str| [("x-forwarded-for", value)];
    let statuses = [
        get_with(&http, address, "/", &xff("2001:db8:0:1::1"))
            .await
            .status,
        get_with(&http, address, "/", &xff("[2001:db8:0:1:ffff::9]:80"))
            .await
            .status,
        get_with(&http, address, "/", &xff("2001:db8:0:2::1"))
            .await
            .status,
        get_with(&http, address, "/", &xff("::ffff:192.0.2.1"))
            .await
            .status,
        get_with(&http, address, "/", &xff("192.0.2.1"))
            .await
            .status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS, // the same /64
            StatusCode::OK,                // another /64
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS, // an IPv4 address written as IPv6 is that address
        ]
    );
    // /56: the whole site is one client.
    let prefix = IpPrefix::default().with_ipv6(56).unwrap();
    let address = server(
        Limit::new(
            "per-site",
            ClientIp::x_forwarded_for(1).with_prefix(prefix),
            one_per_minute(),
            100,
        )
        .unwrap(),
    )
    .await;
    let statuses = [
        get_with(&http, address, "/", &xff("2001:db8:0:100::1"))
            .await
            .status,
        get_with(&http, address, "/", &xff("2001:db8:0:1ff::1"))
            .await
            .status,
        get_with(&http, address, "/", &xff("2001:db8:0:200::1"))
            .await
            .status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::OK
        ]
    );
    assert!(IpPrefix::default().with_ipv6(129).is_err());
    assert!(IpPrefix::default().with_ipv4(33).is_err());
}

#[tokio::test]
async fn the_peer_address_keys_connections_from_distinct_local_addresses() {
    let address =
        server(Limit::new("per-ip", PeerIp::default(), one_per_minute(), 100).unwrap()).await;
    let from = |last: u8| Some(IpAddr::from([127, 0, 0, last]));
    let (a, b) = (client(from(2)), client(from(3)));
    assert_eq!(get_with(&a, address, "/", &[]).await.status, StatusCode::OK);
    assert_eq!(get_with(&b, address, "/", &[]).await.status, StatusCode::OK);
    // Headers do not move the peer key.
    let spoof = [("x-forwarded-for", "9.9.9.9")];
    assert_eq!(
        get_with(&a, address, "/", &spoof).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A fresh connection from the same address is the same client.
    let again = client(from(2));
    assert_eq!(
        get_with(&again, address, "/", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_unreadable_key_gets_the_configured_answer() {
    let http = client(None);
    let api_key = || HeaderKey::new(http::HeaderName::from_static("x-api-key"));
    let quota = one_per_minute();

    // The default: 400.
    let address = server(Limit::new("api", api_key(), quota, 10).unwrap()).await;
    let answer = get_with(&http, address, "/", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let too_long = "k".repeat(300);
    let answer = get_with(&http, address, "/", &[("x-api-key", &too_long)]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // A chosen status.
    let limit = Limit::new("api", api_key(), quota, 10)
        .unwrap()
        .on_unreadable(Unreadable::Respond(StatusCode::UNAUTHORIZED));
    let address = server(limit).await;
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Skip: the limit lets it pass.
    let limit = Limit::new("api", api_key(), quota, 10)
        .unwrap()
        .on_unreadable(Unreadable::Skip);
    let address = server(limit).await;
    for _ in 0..3 {
        assert_eq!(
            get_with(&http, address, "/", &[]).await.status,
            StatusCode::OK
        );
    }

    // Shared: all anonymous requests share one key.
    let limit = Limit::new("api", api_key(), quota, 10)
        .unwrap()
        .on_unreadable(Unreadable::Shared(Key::text("anonymous")));
    let address = server(limit).await;
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get_with(&http, address, "/", &[("x-api-key", "k1")])
            .await
            .status,
        StatusCode::OK
    );
}
