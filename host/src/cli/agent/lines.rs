//! The server's stdio, line by line, between the client and rmcp. rmcp drops a line that is not
//! JSON without a word; JSON-RPC 2.0 answers it with a parse error (-32700, id null), and a line
//! over the limit likewise, so a client is never left waiting. Every line the client gets is
//! written whole by one writer: rmcp's answers and these errors never interleave.

use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};

/// The longest message read; a longer line is refused (and read to its end, unkept).
const MAX_LINE: u64 = 64 << 20;

fn parse_error(why: &str) -> Vec<u8> {
    let message = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": format!("Parse error: {why}")}
    });
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// The two ends rmcp is served over, relaying `input` to it and its answers to `output`; and
/// the writer, which ends when rmcp has said all it will (await it, or the last answers are lost).
pub(super) fn relay<I, O>(input: I, output: O) -> ((DuplexStream, DuplexStream), tokio::task::JoinHandle<()>)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_in, mut to_rmcp) = tokio::io::duplex(1 << 16);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(1 << 16);
    // Bounded: a client that sends garbage and reads nothing holds the reader up, not memory.
    let (errors, mut refused) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut input).take(MAX_LINE + 1).read_until(b'\n', &mut line).await;
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if line.len() as u64 > MAX_LINE && line.last() != Some(&b'\n') {
                // Read the rest of the line, keeping nothing.
                let mut rest = Vec::new();
                while let Ok(n) = (&mut input).take(1 << 16).read_until(b'\n', &mut rest).await {
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                    rest.clear();
                }
                let _ = errors.send(parse_error(&format!("a message over {MAX_LINE} bytes"))).await;
                continue;
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(text) {
                let _ = errors.send(parse_error(&e.to_string())).await;
                continue;
            }
            if to_rmcp.write_all(&line).await.is_err() {
                break;
            }
            if line.last() != Some(&b'\n') && to_rmcp.write_all(b"\n").await.is_err() {
                break;
            }
        }
        // Dropping `to_rmcp` ends rmcp's input, and so the session.
    });
    let writer = tokio::spawn(async move {
        let mut output = output;
        let mut answers = BufReader::new(from_rmcp);
        let mut line = Vec::new();
        let mut open = true;
        while open {
            // A line half read when an error went first stays in `line`: read_until goes on.
            let next = tokio::select! {
                read = answers.read_until(b'\n', &mut line) => match read {
                    Ok(0) | Err(_) => { open = false; None }
                    Ok(_) => Some(std::mem::take(&mut line)),
                },
                Some(error) = refused.recv() => Some(error),
            };
            if let Some(bytes) = next
                && (output.write_all(&bytes).await.is_err() || output.flush().await.is_err())
            {
                break;
            }
        }
    });
    ((rmcp_in, rmcp_out), writer)
}
