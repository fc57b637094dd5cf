//! Serves the demo landing page (a plain HTML form) from its own origin, so posting a
//! lead to the gateway is a real cross-origin form post, as from a customer's site.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use std::net::SocketAddr;

const INDEX: &str = include_str!("../demo/index.html");
const THANKS: &str = include_str!("../demo/thanks.html");

pub async fn serve(addr: SocketAddr, gateway_url: String) -> std::io::Result<()> {
    let demo_url = format!("http://{addr}");
    let index = INDEX
        .replace("{{GATEWAY}}", &gateway_url)
        .replace("{{DEMO}}", &demo_url);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let index = index.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (status, page) = match req.uri().path() {
                    "/" | "/index.html" => (StatusCode::OK, index.clone()),
                    "/thanks.html" => (StatusCode::OK, THANKS.to_string()),
                    _ => (StatusCode::NOT_FOUND, "not found".to_string()),
                };
                async move {
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .status(status)
                            .header("content-type", "text/html; charset=utf-8")
                            .body(Full::new(Bytes::from(page)))
                            .expect("static response"),
                    )
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}
