#!/usr/bin/env python3
"""Seed 002's client_app.py, fixed only for syntax (indentation, Python 3
bytes): connects to localhost:PORT, sends "Hello world!", prints the echo,
closes. A real peer of `tcp-echo server --plain`."""
import socket
import sys
import argparse
host = 'localhost'


def echo_client(port):
    """ A simple client server"""
    servsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    serv_address = (host, port)
    print("Connecting to %s port %s" % serv_address)
    servsock.connect(serv_address)
    try:
        message = "Hello world!"
        print("Sending %s" % message)
        servsock.sendall(message.encode())
        amount_received = 0
        amount_expected = len(message)
        while amount_received < amount_expected:
            data = servsock.recv(24)
            if not data:
                break
            amount_received += len(data)
            print("Received: %s" % data.decode())
    finally:
        print("Closing connection to the server")
        servsock.close()


parser = argparse.ArgumentParser(description='Socket Server Example')
parser.add_argument('--port', action="store", dest="port", type=int, required=True)
give_args = parser.parse_args()
port = give_args.port
echo_client(port)
