"""Generated projects (`new NAME --project`): created, rendered, installed and run
(their own tests, training at scale, negative controls)."""
