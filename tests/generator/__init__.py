"""Tests of the generator itself: answers, prompts, the command line, each pipeline
stage (render, format, check, write), templates, update, caches, the wheel."""
