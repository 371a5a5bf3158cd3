//! tonic over real TCP on 127.0.0.1: a tonic server behind the server layer, called by a
//! tonic client, and a tonic `Channel` behind the client layer. The service and its codec are
//! written by hand (a message is its raw bytes), so no protoc or generated code is needed;
//! everything else is tonic's own transport, HTTP/2 and gRPC framing. Time is pacer's
//! ManualTimer, shared by the layers: no test sleeps on the wall clock.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use common::Recorder;
use http::uri::PathAndQuery;
use http::{HeaderName, StatusCode};
use pacer_core::{Clock, ManualTimer, Quota};
use pacer_tower::client::{Pushback, PushbackLayer};
use pacer_tower::server::{
    Global, HeaderKey, Headers, Limit, Mode, Outcome, PeerIp, RateLimitLayer, Refusal,
};
use tonic::body::Body;
use tonic::client::GrpcService;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{NamedService, UnaryService};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Status};
use tower::{BoxError, ServiceBuilder};

const MS: u64 = 1_000_000;

/// The one method of the test service.
const SAY: &str = "/pacer.test.Echo/Say";

/// A codec whose messages are raw bytes, written and read as they are.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

/// [`RawCodec`]'s encoder.
struct RawEncoder;

/// [`RawCodec`]'s decoder: a message is the whole frame.
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// How the handler answers its `n`-th call (from 0): the message, or a status.
type Script = Arc<dyn Fn(usize, Bytes) -> Result<Bytes, Status> + Send + Sync>;

/// The gRPC service `pacer.test.Echo`, with one unary method, `Say`, that counts the calls
/// reaching it and answers as scripted.
#[derive(Clone)]
struct Echo {
    calls: Arc<AtomicUsize>,
    script: Script,
}

impl Echo {
    /// Answers every call with its own message.
    fn new() -> Echo {
        Echo::scripted(|_, message| Ok(message))
    }

    fn scripted(
        script: impl Fn(usize, Bytes) -> Result<Bytes, Status> + Send + Sync + 'static,
    ) -> Echo {
        Echo {
            calls: Arc::new(AtomicUsize::new(0)),
            script: Arc::new(script),
        }
    }

    /// Calls that reached the handler.
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl NamedService for Echo {
    const NAME: &'static str = "pacer.test.Echo";
}

/// `Say` as tonic's server wants a unary method.
struct Say(Echo);

impl UnaryService<Bytes> for Say {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst);
        let answer = (self.0.script)(n, request.into_inner()).map(tonic::Response::new);
        std::future::ready(answer)
    }
}

impl tower::Service<http::Request<Body>> for Echo {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let echo = self.clone();
        Box::pin(async move {
            if request.uri().path() != SAY {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            Ok(tonic::server::Grpc::new(RawCodec)
                .unary(Say(echo), request)
                .await)
        })
    }
}

/// Serves `echo` with tonic's server on a free port of 127.0.0.1, behind `layer` if given.
async fn serve(layer: Option<RateLimitLayer<ManualTimer>>, echo: &Echo) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let address = listener.local_addr().expect("its address");
    let router = Server::builder()
        .layer(tower::util::option_layer(layer))
        .add_service(echo.clone());
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    address
}

/// A tonic channel to `address`, connecting from `from` (a 127.x.y.z address).
async fn channel(address: SocketAddr, from: IpAddr) -> Channel {
    Endpoint::from_shared(format!("http://{address}"))
        .expect("a valid URI")
        .local_address(Some(from))
        .connect()
        .await
        .expect("the server accepts")
}

const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Calls `Say` through `service` (a channel, or a stack over one), with `x-api-key` metadata
/// if given.
async fn say<S>(service: S, api_key: Option<&str>) -> Result<tonic::Response<Bytes>, Status>
where
    S: GrpcService<Body>,
    S::ResponseBody: hyper::body::Body<Data = Bytes> + Send + 'static,
    <S::ResponseBody as hyper::body::Body>::Error: Into<BoxError>,
{
    let mut client = tonic::client::Grpc::new(service);
    client
        .ready()
        .await
        .map_err(|error| Status::unavailable(error.into().to_string()))?;
    let mut request = tonic::Request::new(Bytes::from_static(b"hello"));
    if let Some(key) = api_key {
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().expect("ASCII metadata"));
    }
    // A bound against a hang, not a timing check.
    let call = client.unary(request, PathAndQuery::from_static(SAY), RawCodec);
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("an answer within 10 s")
}

/// One call a second per peer address, as tonic's server hands it (feature `tonic`).
fn per_peer() -> Limit {
    Limit::new(
        "per-peer",
        PeerIp::default(),
        Quota::per_second(1).unwrap(),
        100,
    )
    .unwrap()
}

/// A metadata entry of `status` as text.
fn meta<'a>(status: &'a Status, name: &str) -> Option<&'a str> {
    status.metadata().get(name).and_then(|v| v.to_str().ok())
}

/// Lets every other task on the current-thread runtime run until it waits (loopback I/O
/// included).
async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn without_the_layer_every_call_goes() {
    let echo = Echo::new();
    let address = serve(None, &echo).await;
    let channel = channel(address, ONE).await;
    for _ in 0..3 {
        let answer = say(channel.clone(), None).await.expect("no limit here");
        assert_eq!(&answer.into_inner()[..], b"hello");
    }
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn the_default_429_reaches_a_tonic_client_as_unavailable() {
    let timer = ManualTimer::new();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(per_peer())
        .build()
        .unwrap();
    let echo = Echo::new();
    let address = serve(Some(layer), &echo).await;
    let (one, two) = (channel(address, ONE).await, channel(address, TWO).await);

    let first = say(one.clone(), None).await.expect("the first call goes");
    assert_eq!(&first.get_ref()[..], b"hello");
    assert_eq!(
        first.metadata().get("ratelimit").unwrap(),
        "\"per-peer\";r=0;t=1",
        "an admitted call carries the fields as metadata"
    );

    // HTTP 429 is no gRPC status: tonic maps it by gRPC's HTTP table to UNAVAILABLE, the code
    // of a server that cannot be reached, not to RESOURCE_EXHAUSTED.
    let refused = say(one.clone(), None).await.expect_err("over the limit");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("429"), "{refused:?}");
    // tonic keeps the answer's head as the status's metadata.
    assert_eq!(meta(&refused, "retry-after"), Some("1"));
    assert_eq!(
        echo.calls(),
        1,
        "the refused call never reached the handler"
    );

    // Another peer has its own key.
    say(two.clone(), None)
        .await
        .expect("another peer's first call");
    timer.advance(Duration::from_secs(1));
    say(one, None).await.expect("a second later");
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn the_grpc_answer_reaches_a_tonic_client_as_resource_exhausted() {
    let timer = ManualTimer::new();
    let api_key = HeaderKey::new(HeaderName::from_static("x-api-key"));
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(Limit::new("per-key", api_key, Quota::per_second(1).unwrap(), 100).unwrap())
        .respond_with(Refusal::grpc_response)
        .build()
        .unwrap();
    let echo = Echo::new();
    let address = serve(Some(layer), &echo).await;
    let channel = channel(address, ONE).await;

    say(channel.clone(), Some("alice"))
        .await
        .expect("alice's first call");
    timer.advance(Duration::from_millis(200));
    let refused = say(channel.clone(), Some("alice"))
        .await
        .expect_err("alice over her limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(refused.message(), "rate limit per-key exceeded");
    // The trailers-only answer's head is the status's metadata: Retry-After (0.8 s rounded
    // up) and the fields.
    assert_eq!(meta(&refused, "retry-after"), Some("1"));
    assert_eq!(meta(&refused, "ratelimit"), Some("\"per-key\";r=0;t=1"));
    assert_eq!(
        meta(&refused, "ratelimit-policy"),
        Some("\"per-key\";q=1;w=1")
    );

    say(channel.clone(), Some("bob"))
        .await
        .expect("bob has his own key");
    // No key: the limit answers 400 by default, which is INVALID_ARGUMENT in gRPC.
    let anonymous = say(channel.clone(), None).await.expect_err("no key");
    assert_eq!(anonymous.code(), Code::InvalidArgument, "{anonymous:?}");
    assert_eq!(
        anonymous.message(),
        "rate limit per-key: no key header in the request"
    );
    assert_eq!(echo.calls(), 2);

    timer.advance(Duration::from_millis(800));
    say(channel, Some("alice"))
        .await
        .expect("alice, a second after her first");
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn a_queued_call_goes_at_its_instant_and_one_beyond_the_bound_is_refused() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(Limit::new("all", Global, Quota::per_second(1).unwrap(), 1).unwrap())
        .mode(Mode::Queue(Duration::from_millis(1_500)))
        .respond_with(Refusal::grpc_response)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let echo = Echo::new();
    let address = serve(Some(layer), &echo).await;
    let channel = channel(address, ONE).await;

    say(channel.clone(), None)
        .await
        .expect("the first call goes");
    let second = tokio::spawn(say(channel.clone(), None));
    let queued = Outcome::Queued {
        wait: Duration::from_secs(1),
    };
    recorder.wait_for(queued, 1).await;
    timer.advance(Duration::from_millis(999));
    settle().await;
    assert!(!second.is_finished(), "not before its instant");
    assert_eq!(echo.calls(), 1);
    timer.advance(Duration::from_millis(1));
    second.await.unwrap().expect("the queued call, at 1 s");
    assert_eq!(echo.calls(), 2);

    // At 1 s: the next slot is at 2 s (queued), the one after at 3 s, beyond the bound.
    let third = tokio::spawn(say(channel.clone(), None));
    recorder.wait_for(queued, 2).await;
    let fourth = say(channel.clone(), None).await.expect_err("2 s away");
    assert_eq!(fourth.code(), Code::ResourceExhausted, "{fourth:?}");
    assert_eq!(meta(&fourth, "retry-after"), Some("2"));
    timer.advance(Duration::from_secs(1));
    third.await.unwrap().expect("the third, at 2 s");
    assert_eq!(echo.calls(), 3);
    assert_eq!(recorder.count(Outcome::Refused), 1);
}

#[tokio::test]
async fn a_queued_call_the_client_gives_up_hands_its_slot_back() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(Limit::new("all", Global, Quota::per_second(1).unwrap(), 1).unwrap())
        .mode(Mode::Queue(Duration::from_secs(2)))
        .observer(recorder.clone())
        .build()
        .unwrap();
    let echo = Echo::new();
    let address = serve(Some(layer), &echo).await;
    let channel = channel(address, ONE).await;
    let queued = Outcome::Queued {
        wait: Duration::from_secs(1),
    };

    say(channel.clone(), None)
        .await
        .expect("the first call goes");
    // The tonic client drops its call: HTTP/2 resets the stream, and the server drops the
    // waiting response future.
    let given_up = tokio::spawn(say(channel.clone(), None));
    recorder.wait_for(queued, 1).await;
    given_up.abort();
    recorder.wait_for(Outcome::Cancelled, 1).await;
    // Its slot at 1 s is free again: the next call is queued for it, not for 2 s.
    let next = tokio::spawn(say(channel.clone(), None));
    recorder.wait_for(queued, 2).await;
    timer.advance(Duration::from_secs(1));
    next.await.unwrap().expect("in the slot given back");
    assert_eq!(echo.calls(), 2);
}

/// A tonic channel behind the client layer on `pushback`.
fn behind(
    pushback: &Arc<Pushback<ManualTimer>>,
    channel: Channel,
) -> pacer_tower::client::PushbackService<Channel, ManualTimer> {
    ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(pushback)))
        .service(channel)
}

fn pushback(timer: &ManualTimer) -> Arc<Pushback<ManualTimer>> {
    Arc::new(
        Pushback::builder(Quota::per_second(100).unwrap())
            .build_with_timer(timer.clone())
            .unwrap(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn resource_exhausted_from_a_tonic_handler_pauses_the_channel() {
    let timer = ManualTimer::new();
    // The first call is refused as a tonic handler refuses: a status, with `retry-after`
    // metadata; tonic sends it as a trailers-only answer.
    let echo = Echo::scripted(|n, message| {
        if n > 0 {
            return Ok(message);
        }
        let mut status = Status::resource_exhausted("quota spent");
        status
            .metadata_mut()
            .insert("retry-after", "2".parse().unwrap());
        Err(status)
    });
    let address = serve(None, &echo).await;
    let pushback = pushback(&timer);
    let client = behind(&pushback, channel(address, ONE).await);

    timer.advance(Duration::from_millis(10));
    let refused = say(client.clone(), None).await.expect_err("scripted");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(
        pushback.pacer().paused_until(),
        Some(2_010 * MS),
        "the layer heard grpc-status 8 and retry-after: 2 at 10 ms"
    );

    let next = tokio::spawn(say(client.clone(), None));
    settle().await;
    timer.advance(Duration::from_millis(1_999)); // 2,009 ms
    settle().await;
    assert_eq!(echo.calls(), 1, "a call went out during the pause");
    assert!(!next.is_finished());
    timer.advance(Duration::from_millis(11)); // past the pause and one cell of 10 ms
    next.await.unwrap().expect("after the pause");
    assert_eq!(echo.calls(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_layer_heeds_the_server_layers_fields_and_is_never_refused() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(per_peer())
        .respond_with(Refusal::grpc_response)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let echo = Echo::new();
    let address = serve(Some(layer), &echo).await;
    let pushback = pushback(&timer);
    let client = behind(&pushback, channel(address, ONE).await);

    say(client.clone(), None).await.expect("the first call");
    // Its `RateLimit: "per-peer";r=0;t=1` pauses the client until the server's reset.
    assert_eq!(pushback.pacer().paused_until(), Some(1_000 * MS));
    for n in 1..4 {
        let until = pushback.pacer().paused_until().expect("r=0: paused");
        let next = tokio::spawn(say(client.clone(), None));
        settle().await;
        timer.advance(Duration::from_nanos(until - timer.now() - MS)); // 1 ms before
        settle().await;
        assert_eq!(echo.calls(), n, "a call went out before the reset");
        // Past the pause and the client's next cell (10 ms).
        timer.advance(Duration::from_millis(11));
        next.await.unwrap().expect("after the reset");
        assert_eq!(echo.calls(), n + 1);
    }
    assert_eq!(recorder.count(Outcome::Refused), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_layer_hears_the_server_layers_refusal_in_either_answer() {
    for grpc in [false, true] {
        let (timer, recorder) = (ManualTimer::new(), Recorder::default());
        // No fields on admitted calls: only the refusal tells the client.
        let mut builder = RateLimitLayer::builder(timer.clone())
            .limit(per_peer())
            .headers(Headers::None)
            .observer(recorder.clone());
        if grpc {
            builder = builder.respond_with(Refusal::grpc_response);
        }
        let echo = Echo::new();
        let address = serve(Some(builder.build().unwrap()), &echo).await;
        let pushback = pushback(&timer);
        let client = behind(&pushback, channel(address, ONE).await);

        say(client.clone(), None).await.expect("the first call");
        assert_eq!(pushback.pacer().paused_until(), None);
        timer.advance(Duration::from_millis(10));
        let refused = say(client.clone(), None).await.expect_err("over the limit");
        let code = if grpc {
            Code::ResourceExhausted
        } else {
            Code::Unavailable
        };
        assert_eq!(refused.code(), code, "grpc answer: {grpc}");
        // Retry-After: 1 (990 ms rounded up), heard at 10 ms.
        assert_eq!(
            pushback.pacer().paused_until(),
            Some(1_010 * MS),
            "grpc answer: {grpc}"
        );

        let third = tokio::spawn(say(client.clone(), None));
        settle().await;
        timer.advance(Duration::from_millis(999)); // 1,009 ms
        settle().await;
        assert!(!third.is_finished(), "grpc answer: {grpc}");
        assert_eq!(echo.calls(), 1, "grpc answer: {grpc}");
        timer.advance(Duration::from_millis(11));
        third
            .await
            .unwrap()
            .expect("after the pause, within the server's limit");
        assert_eq!(echo.calls(), 2);
        assert_eq!(recorder.count(Outcome::Refused), 1, "grpc answer: {grpc}");
    }
}

#[test]
fn the_grpc_answer_has_the_head_of_a_trailers_only_response() {
    let refusal = Refusal {
        reason: pacer_tower::server::Reason::OverLimit,
        limit: Some("per-peer".into()),
        class: None,
        retry_after: Some(Duration::from_secs(1)),
        headers: Default::default(),
    };
    let answer = refusal.grpc_response();
    assert_eq!(answer.status(), StatusCode::OK);
    let status = Status::from_header_map(answer.headers()).expect("a grpc-status");
    assert_eq!(status.code(), Code::ResourceExhausted);
}
