"""Self-assessment, evidence and appraisal workspace (issue 15)."""
