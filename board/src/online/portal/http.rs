//! A strict HTTP/1.1 subset (RFC 9112) for the portal API: one request and
//! one response per exchange, bodies framed by `Content-Length` only (no
//! chunked encoding), headers up to 16 KiB, bodies up to 1 MiB. Anything
//! else is refused as malformed rather than guessed at.

use std::io::{BufRead, Write};

/// The largest header block accepted.
pub const MAX_HEADER: usize = 16 * 1024;
/// The largest body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn malformed(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

/// Reads the start line and headers; `Ok(None)` at a clean end of stream
/// before any byte.
/// A start line and its headers.
type Head = (String, Vec<(String, String)>);

fn read_head(r: &mut dyn BufRead) -> std::io::Result<Option<Head>> {
    let mut start = String::new();
    let mut total = 0usize;
    let n = r.read_line(&mut start)?;
    if n == 0 {
        return Ok(None);
    }
    total += n;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            return Err(malformed("the stream ended inside the headers"));
        }
        total += n;
        if total > MAX_HEADER {
            return Err(malformed("headers too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("a header without ':'"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(Some((start.trim_end().to_owned(), headers)))
}

fn read_body(r: &mut dyn BufRead, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    if header(headers, "transfer-encoding").is_some() {
        return Err(malformed("transfer-encoding is not supported"));
    }
    let len = match header(headers, "content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| malformed("a bad content-length"))?,
    };
    if len > MAX_BODY {
        return Err(malformed("body too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// Reads one request; `Ok(None)` when the peer closed the connection.
pub fn read_request(r: &mut dyn BufRead) -> std::io::Result<Option<Request>> {
    let Some((start, headers)) = read_head(r)? else {
        return Ok(None);
    };
    let mut parts = start.split(' ');
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(malformed("not HTTP/1.x"));
    }
    let body = read_body(r, &headers)?;
    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    }))
}

/// Reads one response.
pub fn read_response(r: &mut dyn BufRead) -> std::io::Result<Response> {
    let (start, headers) = read_head(r)?.ok_or_else(|| malformed("no response"))?;
    let status = start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| start.starts_with("HTTP/1."))
        .ok_or_else(|| malformed("a bad status line"))?;
    let body = read_body(r, &headers)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Writes a request with a JSON body (or none).
pub fn write_request(
    w: &mut dyn Write,
    method: &str,
    host: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (n, v) in extra {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Writes a response with a JSON body.
pub fn write_response(w: &mut dyn Write, status: u16, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Content",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_request_round_trips_and_headers_are_case_insensitive() {
        let mut buf = Vec::new();
        write_request(
            &mut buf,
            "POST",
            "127.0.0.1",
            "/v1/dossiers",
            &[("Idempotency-Key", "abc")],
            b"{}",
        )
        .unwrap();
        let req = read_request(&mut &buf[..]).unwrap().unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/dossiers");
        assert_eq!(req.header("IDEMPOTENCY-KEY"), Some("abc"));
        assert_eq!(req.body, b"{}");
        let mut buf = Vec::new();
        write_response(&mut buf, 201, b"{\"a\":1}").unwrap();
        let resp = read_response(&mut &buf[..]).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (201, &b"{\"a\":1}"[..])
        );
    }

    #[test]
    fn chunked_bodies_and_huge_lengths_are_refused() {
        let chunked = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(read_request(&mut &chunked[..]).is_err());
        let huge = b"POST / HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n";
        assert!(read_request(&mut &huge[..]).is_err());
        let cut = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc";
        assert!(read_response(&mut &cut[..]).is_err());
        assert!(read_request(&mut &b""[..]).unwrap().is_none());
    }
}
