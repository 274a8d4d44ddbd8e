"""Front ends: the `docqa` CLI and the Gradio web UI. They call the app and its Library, never decide."""
