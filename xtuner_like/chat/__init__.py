"""Talking to a model: a multi-turn session and a streamer that never prints stop words."""
from .session import ChatSession, GenerationSettings
from .streamer import StopWordStreamer

__all__ = ['ChatSession', 'GenerationSettings', 'StopWordStreamer']
