//! stub
use super::*;
/// x
#[derive(Debug, Default)]
pub struct OfflineProvider;
impl OfflineProvider {
    /// x
    pub fn new() -> Self {
        Self
    }
}
#[async_trait]
impl LlmProvider for OfflineProvider {
    fn name(&self) -> &str {
        "offline"
    }
    fn model(&self) -> &str {
        "offline"
    }
    async fn complete(&self, _r: &LlmRequest, _s: &TokenSink) -> Result<LlmResponse, LlmError> {
        todo!()
    }
}
