//! Helpers shared by the test binaries (load generator, token counter).

/// The data of each event in an SSE body.
pub fn sse_data(text: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Option<String> = None;
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            events.extend(data.take());
        } else if let Some(d) = line.strip_prefix("data:") {
            let d = d.strip_prefix(' ').unwrap_or(d);
            match &mut data {
                Some(buf) => {
                    buf.push('\n');
                    buf.push_str(d);
                }
                None => data = Some(d.to_owned()),
            }
        }
    }
    events
}
