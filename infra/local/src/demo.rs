//! Serves the demo landing page (a plain HTML form) from its own origin, so posting a
//! lead to the gateway is a real cross-origin form post, as from a customer's site.
//! It also stands in for a chat robot: `POST /webhook` prints the notice it receives
//! (the seeded reps' webhooks point here) and answers as WeCom does.

use http_body_util::{BodyExt, Full};
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
                let index = index.clone();
                async move {
                    let (status, page) = match req.uri().path() {
                        "/" | "/index.html" => (StatusCode::OK, index),
                        "/thanks.html" => (StatusCode::OK, THANKS.to_string()),
                        "/webhook" if req.method() == hyper::Method::POST => {
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let notice: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                            let text = notice["text"]["content"]
                                .as_str()
                                .or_else(|| notice["text"].as_str())
                                .unwrap_or("(unreadable notice)");
                            println!("webhook notice: {text}");
                            (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.to_string())
                        }
                        _ => (StatusCode::NOT_FOUND, "not found".to_string()),
                    };
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
