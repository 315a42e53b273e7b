"""The family progress report, the outcome report and the benefit model."""
