"""Gamification: streaks, XP and levels, VIP, achievements."""
