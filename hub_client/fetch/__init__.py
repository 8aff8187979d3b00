"""Getting files: ``pull`` (a card's assets, verified and cached), one resumable transfer, the stream pipeline,
which URLs may be fetched, the cache layout, and Hugging Face repos."""
