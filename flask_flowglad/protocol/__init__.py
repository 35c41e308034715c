"""The protocol layer: the routes ``@flowglad/react`` calls, their input schemas, and the
answers they give. Above the Flask-free core; the extension mounts it on an app."""
